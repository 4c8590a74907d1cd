package smileid

import (
	"bytes"
	"encoding/json"
)

// Wire shapes. Field order follows the SDKs; the JSON key set is what the
// package documentation lists and the tests pin.

// JobTypeSmartSelfieAuthentication is partner_params.job_type for
// SmartSelfie Authentication.
const JobTypeSmartSelfieAuthentication = 2

// Image types the guard sends.
const (
	imageSelfieBase64   = 2
	imageLivenessBase64 = 6
)

// zipFileName is the upload's file_name: the SDKs' "selfie.zip".
const zipFileName = "selfie.zip"

// partnerParams is sent: job_type is an integer, as the Node SDK sends
// it (parseInt) and the partner_params FAQ requires.
type partnerParams struct {
	UserID  string `json:"user_id"`
	JobID   string `json:"job_id"`
	JobType int    `json:"job_type"`
}

// uploadRequest is the body of POST {base}/v1/upload.
type uploadRequest struct {
	CallbackURL      string        `json:"callback_url"`
	FileName         string        `json:"file_name"`
	ModelParameters  struct{}      `json:"model_parameters"`
	PartnerID        string        `json:"partner_id"`
	PartnerParams    partnerParams `json:"partner_params"`
	Signature        string        `json:"signature"`
	SmileClientID    string        `json:"smile_client_id"`
	SourceSDK        string        `json:"source_sdk"`
	SourceSDKVersion string        `json:"source_sdk_version"`
	Timestamp        string        `json:"timestamp"`
	UseEnrolledImage bool          `json:"use_enrolled_image"`
}

// uploadResponse is what the guard reads of the upload answer
// (upload_url, ref_id, smile_job_id, camera_config, code in the docs).
type uploadResponse struct {
	UploadURL  string `json:"upload_url"`
	SmileJobID string `json:"smile_job_id"`
}

// infoJSON is the zip's info.json, as the Node SDK builds it.
type infoJSON struct {
	PackageInformation packageInformation `json:"package_information"`
	MiscInformation    miscInformation    `json:"misc_information"`
	IDInfo             idInfo             `json:"id_info"`
	Images             []infoImage        `json:"images"`
	ServerInformation  json.RawMessage    `json:"server_information"`
}

type packageInformation struct {
	APIVersion apiVersion `json:"apiVersion"`
	Language   string     `json:"language"`
}

type apiVersion struct {
	BuildNumber  int `json:"buildNumber"`
	MajorVersion int `json:"majorVersion"`
	MinorVersion int `json:"minorVersion"`
}

type miscInformation struct {
	Signature     string        `json:"signature"`
	Retry         string        `json:"retry"`
	PartnerParams partnerParams `json:"partner_params"`
	Timestamp     string        `json:"timestamp"`
	FileName      string        `json:"file_name"`
	SmileClientID string        `json:"smile_client_id"`
	CallbackURL   string        `json:"callback_url"`
	UserData      userData      `json:"userData"`
}

type userData struct {
	IsVerifiedProcess bool   `json:"isVerifiedProcess"`
	Name              string `json:"name"`
	FbUserID          string `json:"fbUserID"`
	FirstName         string `json:"firstName"`
	LastName          string `json:"lastName"`
	Gender            string `json:"gender"`
	Email             string `json:"email"`
	Phone             string `json:"phone"`
	CountryCode       string `json:"countryCode"`
	CountryName       string `json:"countryName"`
}

// idInfo: for a job type 2 the Node SDK sends {"entered":"false"}.
type idInfo struct {
	Entered string `json:"entered"`
}

type infoImage struct {
	ImageTypeID int    `json:"image_type_id"`
	Image       string `json:"image"`
	FileName    string `json:"file_name"`
}

// jobStatusRequest is the body of POST {base}/v1/job_status.
type jobStatusRequest struct {
	Signature  string `json:"signature"`
	Timestamp  string `json:"timestamp"`
	PartnerID  string `json:"partner_id"`
	UserID     string `json:"user_id"`
	JobID      string `json:"job_id"`
	ImageLinks bool   `json:"image_links"`
	History    bool   `json:"history"`
}

// jobStatusResponse is what the guard reads of the job-status answer.
// result is an object once the job has one; before that it may be absent,
// null or a string, so it is decoded separately.
type jobStatusResponse struct {
	Timestamp   string          `json:"timestamp"`
	Signature   string          `json:"signature"`
	JobComplete bool            `json:"job_complete"`
	JobSuccess  bool            `json:"job_success"`
	Code        string          `json:"code"`
	Result      json.RawMessage `json:"result"`
}

// jobResult is the part of a result (job status) or a callback body the
// guard uses.
type jobResult struct {
	ResultCode    string          `json:"ResultCode"`
	ResultText    string          `json:"ResultText"`
	SmileJobID    string          `json:"SmileJobID"`
	PartnerParams inPartnerParams `json:"PartnerParams"`
}

// callbackBody is a callback: a job result plus the signature pair.
type callbackBody struct {
	jobResult
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
}

// inPartnerParams is received: the seed shows job_type as the string
// "2" in callbacks and results, while it is sent as the number 2, so both
// are accepted.
type inPartnerParams struct {
	JobID   string      `json:"job_id"`
	UserID  string      `json:"user_id"`
	JobType flexJobType `json:"job_type"`
}

// flexJobType holds a job_type given as a JSON number or string, as its
// decimal text ("" when absent).
type flexJobType string

func (f *flexJobType) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		s = n.String()
	}
	*f = flexJobType(s)
	return nil
}

// isAuthentication reports whether the job type names SmartSelfie
// Authentication.
func (f flexJobType) isAuthentication() bool { return f == "2" }
