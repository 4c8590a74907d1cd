// Package smilefake holds the Smile ID wire fixtures every test shares,
// written from the seed's formats rather than from the client: the
// request signature and the callback body.
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
