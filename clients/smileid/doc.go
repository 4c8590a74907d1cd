// Package smileid runs Smile ID SmartSelfie™ Authentication (job type 2)
// as a step-up factor, server side. The browser captures a selfie and
// liveness frames and posts them to the guard; the guard submits the job
// to Smile ID with its own key, waits for Smile ID's callback, confirms
// the result with a job-status call, and tells the polling page where the
// step-up stands. The API key and every signature stay on the server.
// The package knows nothing of Caddy, logs nothing and starts no
// goroutines.
//
// # Flow
//
//	page ─images─▶ module ─Submit─▶ POST /v1/upload ─▶ PUT zip to upload_url
//	                    (job_id random, registered pending with user and state handle)
//	Smile ID ─callback─▶ module ─HandleCallback─▶ verify ─▶ Confirm: POST /v1/job_status
//	page ─poll─▶ module ─Status─▶ pending | authenticated | rejected | unknown
//	module ─Complete─▶ the authenticated job, once
//
// A callback alone never completes a step-up. Smile ID's signature is
// base64(HMAC-SHA256(api_key, timestamp + partner_id + "sid_request")):
// it binds a time and the partner, not the job or the body, so anyone who
// saw one valid pair could attach any body to it for as long as it is
// fresh. A callback is therefore only a trigger: the state moves only on
// a job-status answer fetched by the guard over TLS, for a job id it
// generated, and that answer's result must name the job, the user and job
// type 2.
//
// # Rate limiting
//
// Jobs are paid. Submit asks Config.Limiter (per user and per IP) before
// spending anything; when Limiter is nil the Caddy module must apply its own rate
// rules before calling Submit. Confirm calls (the callbacks') are bounded
// per job by Config.MaxConfirmations; ConfirmForPoll (the page's, which
// the Caddy module spaces by ConfirmEvery) by that plus one per ConfirmEvery of
// PendingTTL, so callbacks that failed while Smile ID was down cannot
// leave the page without a way to the result.
//
// # Wire format
//
// Seen in the seed (the Node SDK's SmartSelfie Authentication page): the
// signature scheme's inputs (partner id, API key, timestamp), sid_server 0
// (sandbox) and 1 (production), partner_params {user_id, job_id,
// job_type: 2}, image_type_id 2 (selfie, base64) and 6 (liveness,
// base64), the callback body (Actions, ConfidenceValue, PartnerParams
// {job_id, job_type as the string "2", user_id}, ResultCode, ResultText,
// SmileJobID, Source, timestamp, signature), the job-status answer
// (timestamp, signature, job_complete, job_success, code, result {...
// ResultCode, ResultText, SmileJobID, PartnerParams ...}), result codes
// 1220 "Authenticated" and 0824 "Provisional Authentication - Under
// Review", and the option names image_links/history of the job-status
// query.
//
// Not shown by the seed, and to be checked against Smile ID's REST
// reference before production (each taken from Smile ID's Node and Python
// server SDKs, smile-identity-core-js and smile-identity-core-python, and
// its public REST pages, where they agree):
//
//   - Hosts: https://testapi.smileidentity.com and
//     https://api.smileidentity.com, paths /v1/upload and /v1/job_status.
//   - The signature algorithm itself (HMAC-SHA256, standard base64 with
//     padding, message = timestamp ‖ partner_id ‖ "sid_request", key = the
//     API key as UTF-8), and the timestamp form sent:
//     "2006-01-02T15:04:05.000Z" (UTC, milliseconds). Received timestamps
//     are parsed as RFC 3339 with an optional fraction.
//   - POST {base}/v1/upload, Content-Type: application/json, Accept:
//     application/json, body keys: callback_url, file_name ("selfie.zip"),
//     model_parameters ({}), partner_id, partner_params, signature,
//     smile_client_id (the partner id), source_sdk ("rest_api", as the
//     REST page says), source_sdk_version ("1.0.0"), timestamp,
//     use_enrolled_image (false; both SDKs send it). partner_id is not
//     sent by the SDKs; it is sent because Smile ID's REST pages name
//     partner_id, timestamp and signature as the authentication fields of
//     signed requests, and the project's issue lists it. The Node SDK's spread of id_info ("entered") into
//     this body is not copied: the Python SDK does without it.
//   - The upload answer: 2xx with upload_url (must be https) and
//     smile_job_id; ref_id, camera_config and code are ignored.
//   - PUT {upload_url}, Content-Type: application/zip, the zip as body;
//     2xx is success. The zip holds one deflated entry, info.json:
//     package_information {apiVersion {buildNumber 0, majorVersion 2,
//     minorVersion 0}, language "golang"}; misc_information {signature,
//     retry "false", partner_params, timestamp, file_name "selfie.zip",
//     smile_client_id, callback_url, userData {isVerifiedProcess false,
//     name, fbUserID, firstName, lastName, gender, email, phone and
//     countryName "", countryCode "+"}}; id_info {"entered": "false"} (the
//     Node SDK's value for a job without ID info); images [{image_type_id,
//     image (base64), file_name ""}], the selfie first; server_information:
//     the upload answer as received (the Node SDK's choice; the Python SDK
//     sends the upload_url string). The same timestamp/signature pair is
//     used in the upload body and in info.json, as the Python SDK does.
//     The language value "golang" is this package's own.
//   - POST {base}/v1/job_status body keys: signature, timestamp,
//     partner_id, user_id, job_id, image_links false, history false. Its
//     answer's signature is checked with the same scheme as the SDKs do.
//     What the answer's timestamp denotes (send time or job time) is not
//     documented, so it is bounded below by the job's registration time
//     minus the signature window and above by now plus the window, which
//     holds under either reading; callbacks get the plain ±window check.
//     If Smile ID's final callback after a long human review carried an
//     old timestamp it would be refused as stale; Confirm, driven by the
//     polling page, still reaches the result.
//   - job_complete false means still processing (pending). A result may
//     be absent or not an object before completion.
//
// # Result codes
//
//	code  meaning (source)                                         state
//	1220  Authenticated (seed)                                     authenticated
//	0824  Provisional Authentication - Under Review (seed)         pending
//	other                                                          rejected
//
// Unknown codes are rejected: a step-up fails closed. Two codes sometimes
// listed as approvals are deliberately not in the default authenticated
// set: 1020 is "Exact Match" of ID information against an ID authority
// in Smile ID's result-code table (a KYC result that says nothing about a
// selfie), and 0810 belongs to the enrolment (job type 4) family. Smile
// ID's result-code page lists further SmartSelfie Authentication codes
// (approved, provisional and rejected) that this package could not pin
// down; an operator who confirms them extends Config.AuthenticatedCodes
// and Config.PendingCodes. An authenticated code also needs job_success
// true.
//
// # Bounds
//
// Callback bodies (MaxCallbackBytes), every response body
// (MaxResponseBytes), images (MaxImageBytes, MaxTotalImageBytes,
// MaxLivenessImages), the registry (MaxPending entries, PendingTTL each,
// user id and state handle lengths), remembered callback digests (4 per
// job) and job-status calls per job (MaxConfirmations) are all capped.
// Redirects are never followed. Errors never quote an upload URL (a
// presigned credential), a response body or the API key; transport
// errors lose the URL Go's client puts in them.
package smileid
