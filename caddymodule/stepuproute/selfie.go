package stepuproute

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of the selfie frames
	_ "image/png"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// purposeSelfie seals the Smile ID job id to the step-up state handle, in
// the selfie cookie: the polling page can only ask about the job its own
// state submitted.
const purposeSelfie = "stepup_selfie"

type selfieClaim struct {
	Handle string `json:"h"`
	Job    string `json:"j"`
}

// selfieUpload is what the page posts: standard base64 JPEG or PNG, the
// selfie and the liveness frames.
type selfieUpload struct {
	Selfie   string   `json:"selfie"`
	Liveness []string `json:"liveness"`
}

// Bounds of an upload: the client's caps on the raw images, as base64,
// plus room for the JSON around them; and the frame size a camera gives.
const (
	maxSelfieBody   = smileid.DefaultMaxTotalImageSize/3*4 + 64<<10
	minSelfieSide   = 64
	maxSelfieSide   = 4096
	maxLivenessSent = smileid.DefaultMaxLivenessImages
)

// Selfie job states as the page reads them.
type selfieAnswer struct {
	State string `json:"state"`
}

// smileUserID is the Smile ID user_id for the state's user: the user name
// or, with user_id account_id, the account id the route learnt ("" when it
// did not, and the selfie is then not offered).
func (s *stepUpCall) smileUserID(st stepup.State) string {
	c := s.h.app.SmileID
	if c == nil {
		return ""
	}
	if c.UserID == smileidpool.UserAccountID {
		return st.AccountID
	}
	return st.User
}

// selfieSubmit validates the images and submits a paid SmartSelfie job for
// the state's user; the job id is bound to the state in a sealed cookie
// and, inside Smile ID's client, to the user and the state handle.
func (s *stepUpCall) selfieSubmit() {
	st, ok := s.endpointState()
	if !ok {
		return
	}
	if s.rulesDeny() {
		return
	}
	uid := s.smileUserID(st)
	if uid == "" {
		s.refuseJSON("selfie_no_user_id")
		return
	}
	cl := s.smile.Client
	if job := s.selfieJob(st); job != "" {
		if state, _ := cl.Status(job); state == smileid.StatePending {
			// One paid job per state at a time: the page polls that one.
			s.x.Verdict.Add(rules.Deny, "selfie_already_pending")
			s.writeJSON(http.StatusConflict, selfieAnswer{State: string(smileid.StatePending)})
			return
		}
	}
	// The client's share is checked before its up to ~11 MiB are read.
	client, _ := s.h.stepUp.Prefix.Of(s.x.Attempt.IP)
	t := s.h.app.StepUp
	if full := s.smile.BeginSubmit(client, t.SelfiesPerClient, t.PendingSelfiesPerClient, time.Now()); full != "" {
		s.busy("selfie_busy_" + full)
		return
	}
	job := ""
	defer func() { s.smile.EndSubmit(client, job, time.Now()) }()
	up, reason := readSelfieUpload(s.r)
	if reason != "" {
		code := pages.BadRequest
		if reason == "selfie_body_too_large" {
			code = pages.TooLarge
		}
		s.fail(reason, pages.Answer{Code: code})
		return
	}
	sub, err := cl.Submit(s.r.Context(), smileid.SubmitRequest{
		UserID: uid, StateHandle: st.Handle, ClientIP: s.x.Attempt.IP,
		Selfie: up.selfie, Liveness: up.liveness,
	})
	if err != nil {
		s.selfieSubmitFailed(err)
		return
	}
	job = sub.JobID
	tok, err := s.h.app.Tokens().Seal(purposeSelfie, selfieClaim{Handle: st.Handle, Job: sub.JobID}, time.Now(), s.iss.StateTTL())
	if err != nil {
		s.internal(err)
		return
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieSelfie, tok, s.iss.StateTTL())
	s.x.Allow("selfie_submitted")
	s.writeJSON(http.StatusAccepted, selfieAnswer{State: string(smileid.StatePending)})
}

// selfieSubmitFailed maps Submit's errors: the limiter's refusal is a 429
// with Retry-After, a refused input a 400, a full registry or Smile ID's
// failure a 503/502 (logged; the page may retry).
func (s *stepUpCall) selfieSubmitFailed(err error) {
	var le *smileid.LimitError
	switch {
	case errors.As(err, &le):
		s.fail("selfie_rate_limited_"+le.Scope, pages.Answer{Code: pages.RateLimited, RetryAfter: max(le.RetryAfter, time.Second)})
	case errors.Is(err, smileid.ErrLimiterFull):
		s.fail("selfie_limiter_full", pages.Answer{Code: pages.Unavailable})
	case errors.Is(err, smileid.ErrInput):
		s.fail("selfie_invalid_images", pages.Answer{Code: pages.BadRequest})
	case errors.Is(err, smileid.ErrRegistryFull):
		s.h.logger.Warn("smileid: pending-jobs registry full", zap.Error(err))
		s.fail("selfie_registry_full", pages.Answer{Code: pages.Unavailable})
	default:
		s.h.logger.Warn("smileid: submission failed", zap.Error(err))
		s.fail("selfie_submit_failed", pages.Answer{Code: pages.Unavailable, Status: http.StatusBadGateway})
	}
}

// selfieJob is the job id the selfie cookie binds to this state, or "".
func (s *stepUpCall) selfieJob(st stepup.State) string {
	var c selfieClaim
	if err := s.h.app.Tokens().Open(purposeSelfie, request.ReadStepCookie(s.r, request.CookieSelfie), time.Now(), &c); err != nil || c.Handle != st.Handle {
		return ""
	}
	return c.Job
}

// selfieStatus is the page's poll. A job moves only on a signed job-status
// answer: normally the one a callback triggers; when no callback came for
// a while (callbacks blocked by a firewall, say), the poll asks Smile ID
// itself, spaced by smileid.ConfirmEvery and within the client's per-job
// budget for polls (which callbacks failing in an outage cannot use up).
// A failed call leaves the job pending (audit selfie_pending_unconfirmed).
// An authenticated job
// is completed here, once, after its user and state handle are compared
// with this state's, and the browser gets the factor token; a rejected one
// is reported to the engines and forgotten, so the user may try again.
func (s *stepUpCall) selfieStatus() {
	st, ok := s.endpointState()
	if !ok {
		return
	}
	job := s.selfieJob(st)
	cl := s.smile.Client
	entry, err := cl.Registry().Lookup(job)
	if errors.Is(err, smileid.ErrStoreUnavailable) {
		// The job may well be there: the page is told to try again,
		// not that its confirmation expired.
		s.refuseJSON("step_up_" + stepup.ReasonStoreUnavailable)
		return
	}
	if job == "" || err != nil {
		s.x.Verdict.Add(rules.Deny, "selfie_no_job")
		s.writeJSON(http.StatusOK, selfieAnswer{State: string(smileid.StateUnknown)})
		return
	}
	if entry.UserID != s.smileUserID(st) || entry.StateHandle != st.Handle {
		s.refuseJSON("selfie_job_mismatch")
		return
	}
	pending := "selfie_pending"
	if entry.State == smileid.StatePending && s.smile.DueForConfirm(job, entry.RegisteredAt, time.Now()) {
		res, err := cl.ConfirmForPoll(s.r.Context(), job)
		if err == nil {
			entry.State = res.State
		} else {
			// The job stays pending and the page keeps polling; the
			// next call is due after smileid.ConfirmEvery.
			s.h.logger.Warn("smileid: confirmation by the page's poll failed", zap.Error(err))
			pending = "selfie_pending_unconfirmed"
		}
	}
	if entry.State != smileid.StatePending {
		defer s.smile.ForgetConfirm(job)
	}
	switch entry.State {
	case smileid.StatePending:
		s.x.Allow(pending)
		s.writeJSON(http.StatusOK, selfieAnswer{State: string(smileid.StatePending)})
	case smileid.StateAuthenticated:
		s.smile.JobDone(job)
		done, err := cl.Complete(job)
		if errors.Is(err, smileid.ErrStoreUnavailable) {
			s.refuseJSON("step_up_" + stepup.ReasonStoreUnavailable)
			return
		}
		if err != nil || done.UserID != entry.UserID || done.StateHandle != st.Handle {
			s.refuseJSON("selfie_not_completed")
			return
		}
		request.ClearStepCookie(s.w.Header(), s.r, request.CookieSelfie)
		if !s.passFactor(st, factorClaim{Method: MethodSelfie}) {
			return
		}
		s.x.Allow("selfie_ok")
		s.writeJSON(http.StatusOK, selfieAnswer{State: string(smileid.StateAuthenticated)})
	default:
		s.smile.JobDone(job)
		cl.Registry().Remove(job)
		request.ClearStepCookie(s.w.Header(), s.r, request.CookieSelfie)
		s.factorRefused(st, MethodSelfie)
		s.x.Verdict.Add(rules.Deny, "selfie_rejected")
		s.writeJSON(http.StatusOK, selfieAnswer{State: string(smileid.StateRejected)})
	}
}

// selfieImages are an upload's decoded images.
type selfieImages struct {
	selfie   []byte
	liveness [][]byte
}

// readSelfieUpload reads the bounded body and checks every image is a
// JPEG or PNG of camera size; the reason is "" when all is well.
func readSelfieUpload(r *http.Request) (selfieImages, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSelfieBody+1))
	if err != nil {
		return selfieImages{}, "selfie_body_unreadable"
	}
	if len(body) > maxSelfieBody {
		return selfieImages{}, "selfie_body_too_large"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var up selfieUpload
	if err := dec.Decode(&up); err != nil || dec.More() {
		return selfieImages{}, "selfie_malformed"
	}
	if len(up.Liveness) > maxLivenessSent {
		return selfieImages{}, "selfie_too_many_frames"
	}
	var out selfieImages
	if out.selfie, err = decodeSelfieImage(up.Selfie); err != nil {
		return selfieImages{}, "selfie_invalid_image"
	}
	for _, l := range up.Liveness {
		img, err := decodeSelfieImage(l)
		if err != nil {
			return selfieImages{}, "selfie_invalid_image"
		}
		out.liveness = append(out.liveness, img)
	}
	return out, ""
}

// decodeSelfieImage decodes one base64 image and checks its header: the
// format (JPEG or PNG, what Smile ID takes) and a camera-like size. Only
// the header is parsed; Smile ID judges the picture.
func decodeSelfieImage(b64 string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	if len(raw) > smileid.DefaultMaxImageBytes {
		return nil, errors.New("image too large")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if format != "jpeg" && format != "png" {
		return nil, fmt.Errorf("format %s", format)
	}
	if cfg.Width < minSelfieSide || cfg.Height < minSelfieSide || cfg.Width > maxSelfieSide || cfg.Height > maxSelfieSide {
		return nil, fmt.Errorf("size %dx%d", cfg.Width, cfg.Height)
	}
	return raw, nil
}

// smileCallback handles Smile ID's callback. Its signature binds only a
// time and the partner, so the client never trusts the body's result: it
// confirms with a job-status call. Refusals no retry can change answer
// 4xx; a failed confirmation, or a shared store of pending jobs that did
// not answer, 503, so Smile ID retries.
func (s *stepUpCall) smileCallback() {
	cl := s.smile.Client
	body, err := io.ReadAll(io.LimitReader(s.r.Body, cl.CallbackLimit()+1))
	if err != nil {
		s.x.Verdict.Add(rules.Deny, "smileid_callback_unreadable")
		s.writeJSON(http.StatusBadRequest, map[string]string{"error": "refused"})
		return
	}
	res, err := cl.HandleCallback(s.r.Context(), body)
	s.x.Attempt.User = res.UserID
	switch {
	case err == nil:
		reason := "smileid_callback_" + string(res.State)
		if res.Duplicate {
			reason = "smileid_callback_duplicate"
		}
		s.x.Allow(reason)
		s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
	case errors.Is(err, smileid.ErrStoreUnavailable):
		// The shared store did not answer: Smile ID's retry may find
		// the job.
		s.h.logger.Warn("smileid: callback not processed: pending-jobs store unavailable", zap.Error(err))
		s.x.Verdict.Add(rules.Deny, "smileid_callback_store_unavailable")
		s.writeJSON(http.StatusServiceUnavailable, map[string]string{"error": "retry"})
	case smileid.Permanent(err):
		s.x.Verdict.Add(rules.Deny, "smileid_callback_"+callbackReason(err))
		status := http.StatusBadRequest
		if errors.Is(err, smileid.ErrBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.writeJSON(status, map[string]string{"error": "refused"})
	default:
		s.h.logger.Warn("smileid: callback not confirmed yet", zap.Error(err))
		s.x.Verdict.Add(rules.Deny, "smileid_callback_unconfirmed")
		s.writeJSON(http.StatusServiceUnavailable, map[string]string{"error": "retry"})
	}
}

// callbackReason names a permanent callback refusal for the audit line.
func callbackReason(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{smileid.ErrBodyTooLarge, "too_large"},
		{smileid.ErrMalformed, "malformed"},
		{smileid.ErrBadTimestamp, "bad_timestamp"},
		{smileid.ErrStaleTimestamp, "stale"},
		{smileid.ErrBadSignature, "bad_signature"},
		{smileid.ErrUnknownJob, "unknown_job"},
		{smileid.ErrJobMismatch, "job_mismatch"},
		{smileid.ErrTooManyConfirms, "too_many_confirmations"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "refused"
}
