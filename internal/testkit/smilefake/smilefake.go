// Package smilefake is Smile ID for every test, written from the seed's
// formats rather than from the client: the wire fixtures (the request
// signature, the callback and job-status bodies) and Server, the API on
// TLS that checks every request the client sends.
package smilefake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// Sign is Smile ID's signature of a timestamp: base64(HMAC-SHA256(api
// key, timestamp + partner id + "sid_request")).
func Sign(apiKey, partnerID, ts string) string {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte(ts + partnerID + "sid_request"))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Callback is a SmartSelfie callback body in the seed's shape, for a job
// of user with result code.
func Callback(ts, sig, jobID, userID, code string) []byte {
	b, err := json.Marshal(map[string]any{
		"Actions": map[string]any{
			"Human_Review_Compare": "Not Applicable", "Liveness_Check": "Passed",
			"Selfie_Provided": "Passed", "Selfie_To_Registered_Selfie_Compare": "Completed",
		},
		"ConfidenceValue": "99",
		"PartnerParams":   map[string]any{"job_id": jobID, "job_type": "2", "user_id": userID},
		"ResultCode":      code,
		"ResultText":      "text for " + code,
		"SmileJobID":      "0000000194",
		"Source":          "WebAPI",
		"timestamp":       ts,
		"signature":       sig,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// StatusBody is a job-status answer in the seed's shape: signed with sig
// at ts, for jobID of userID with job type jobType and result code.
func StatusBody(ts, sig string, complete, success bool, code, jobID, userID, jobType string) map[string]any {
	return map[string]any{
		"timestamp":    ts,
		"signature":    sig,
		"job_complete": complete,
		"job_success":  success,
		"code":         "2302",
		"result": map[string]any{
			"Source":          "WebAPI",
			"Actions":         map[string]any{"Liveness_Check": "Passed", "Selfie_To_Registered_Selfie_Compare": "Completed"},
			"ResultCode":      code,
			"ResultText":      "text for " + code,
			"SmileJobID":      "0000000194",
			"PartnerParams":   map[string]any{"job_id": jobID, "user_id": userID, "job_type": jobType},
			"ConfidenceValue": "99",
		},
		"success":      true,
		"smile_job_id": "0000000194",
	}
}
