package caddymodule

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// Paths under the step-up route's base ("/verify"): the page is the base
// itself.
const (
	pathScript         = "/stepup.js"
	pathEnrol          = "/enrol"
	pathLoginBegin     = "/passkey/begin"
	pathLoginFinish    = "/passkey/finish"
	pathRegisterBegin  = "/passkey/register/begin"
	pathRegisterFinish = "/passkey/register/finish"
	pathComplete       = "/complete"
	pathSelfieSubmit   = "/selfie/submit"
	pathSelfieStatus   = "/selfie/status"
	pathSmileCallback  = "/smileid/callback"
	pathLoginIDFinish  = "/loginid/finish"
)

var stepUpSuffixes = []string{pathRegisterBegin, pathRegisterFinish, pathLoginBegin, pathLoginFinish, pathComplete, pathEnrol, pathScript,
	pathSelfieSubmit, pathSelfieStatus, pathSmileCallback, pathLoginIDFinish}

// What the user reads. Deliberately vague: the reason is in the audit
// line, never on the page.
const (
	msgInvalid     = "This confirmation is no longer valid. Please sign in again."
	msgNoPasskey   = "No passkey is registered for this account, so the sign-in cannot be confirmed here. Please contact support."
	msgNoMethod    = "This sign-in cannot be confirmed here. Please contact support."
	msgEnrolDenied = "To register a passkey, sign in first, or open the enrolment link you were sent."
)

// Factor tokens say "the factor passed for this state" between the
// passkey finish and the completion.
const (
	purposeFactor = "stepup_factor"
	factorTTL     = 5 * time.Minute
	enrolLinkTTL  = 15 * time.Minute
)

type factorClaim struct {
	Handle string `json:"h"`
	Method string `json:"m"`
}

// serveStepUp dispatches the `event step_up` route. Every answer but
// the script writes one audit line.
func (h *Handler) serveStepUp(w http.ResponseWriter, r *http.Request) error {
	x := &exchange{h: h, start: h.now(), ctx: r.Context()}
	x.attempt = rules.Attempt{
		Route:     h.Name,
		Event:     EventStepUp,
		IP:        clientIP(r),
		UserAgent: r.UserAgent(),
		Header:    r.Header,
		Time:      x.start,
	}
	suffix, base := stepUpPath(r)
	if base == "" {
		h.logger.Warn("the step-up route must be mounted under a path, e.g. handle /verify*", zap.String("route", h.Name))
		return caddyhttp.Error(http.StatusNotFound, errStepUpRefused)
	}
	if suffix == pathScript {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return caddyhttp.Error(http.StatusMethodNotAllowed, errStepUpRefused)
		}
		stepup.SetPageHeaders(w.Header(), false)
		w.Header().Set("Content-Type", stepup.ScriptContentType)
		_, err := w.Write(stepup.Script())
		return err
	}
	iss, rt, err := h.stepUpMachinery()
	if err != nil {
		h.logger.Error("step-up unavailable", zap.String("route", h.Name), zap.Error(err))
		return caddyhttp.Error(http.StatusServiceUnavailable, errStepUpRefused)
	}
	s := &stepUpCall{x: x, w: w, r: r, iss: iss, pk: rt.passkeys, smile: rt.smile, held: rt.store.held, base: base}
	wantPost := suffix != "" && suffix != pathEnrol
	if (wantPost && r.Method != http.MethodPost) || (!wantPost && r.Method != http.MethodGet && r.Method != http.MethodHead) {
		s.err = caddyhttp.Error(http.StatusMethodNotAllowed, errStepUpRefused)
		x.verdict.Add(rules.Deny, "step_up_method")
	} else if m := methodOfPath(suffix); m != "" && !s.offers(m) {
		s.err = caddyhttp.Error(http.StatusNotFound, errStepUpRefused)
		x.verdict.Add(rules.Deny, "step_up_method_not_offered")
	} else if suffix == pathSmileCallback {
		// Smile ID's server, not the page: no state, no header; its
		// signature and a job-status call decide.
		s.smileCallback()
	} else if wantPost && suffix != pathComplete && r.Header.Get("X-Login-Guard") != "1" {
		// The page's script sends it; a cross-site form cannot, and a
		// cross-site fetch cannot without a preflight the guard never
		// answers.
		s.refuseJSON("step_up_missing_header")
	} else {
		switch suffix {
		case "":
			s.loginPage()
		case pathEnrol:
			s.enrolPage()
		case pathLoginBegin:
			s.loginBegin()
		case pathLoginFinish:
			s.loginFinish()
		case pathRegisterBegin:
			s.registerBegin()
		case pathRegisterFinish:
			s.registerFinish()
		case pathComplete:
			s.complete()
		case pathSelfieSubmit:
			s.selfieSubmit()
		case pathSelfieStatus:
			s.selfieStatus()
		case pathLoginIDFinish:
			s.loginidFinish()
		}
	}
	x.finish(r)
	return s.err
}

// stepUpCall is one request to the step-up route.
type stepUpCall struct {
	x     *exchange
	w     http.ResponseWriter
	r     *http.Request
	iss   *stepup.Issuer
	pk    *passkeys.Passkeys
	smile *pooledSmileID
	held  stepup.HeldStore
	base  string
	err   error
}

// stepUpPath splits the path into the endpoint suffix and the base the
// page's script posts to, taken from the URL the browser used (a
// handle_path may have stripped it since).
func stepUpPath(r *http.Request) (suffix, base string) {
	p := r.URL.Path
	for _, s := range stepUpSuffixes {
		if strings.HasSuffix(p, s) {
			suffix = s
			break
		}
	}
	orig := originalRequest(r).URL.Path
	if !strings.HasSuffix(orig, suffix) {
		orig = p
	}
	base = strings.TrimRight(strings.TrimSuffix(orig, suffix), "/")
	return suffix, base
}

// state opens the step-up state the browser carries, without spending it.
// One step-up route serves every guarded route, so only the client is
// compared; the user comes from the state.
func (s *stepUpCall) state() (stepup.State, error) {
	st, err := s.iss.Verify(readStepCookie(s.r, cookieState), stepup.Binding{IP: s.x.attempt.IP, UserAgent: s.x.attempt.UserAgent})
	if err == nil {
		s.x.attempt.User = st.User
	}
	return st, err
}

// rulesDeny applies the route's rules (rate limits on the step-up
// endpoints) once the user is known; true when they refused.
func (s *stepUpCall) rulesDeny() bool {
	s.x.decide()
	if s.x.verdict.Action != rules.Deny {
		return false
	}
	s.err = s.x.denyError(s.w)
	return true
}

func (s *stepUpCall) allow(reason string) {
	s.x.verdict.Action = rules.Allow
	s.x.verdict.Reasons = append(s.x.verdict.Reasons, reason)
}

func (s *stepUpCall) loginPage() {
	st, err := s.state()
	if err != nil {
		s.notice(http.StatusForbidden, refusalReason("step_up_", err), msgInvalid)
		return
	}
	if s.rulesDeny() {
		return
	}
	methods, err := s.availableMethods(st)
	if err != nil {
		s.internal(err)
		return
	}
	if len(methods) == 0 {
		msg := msgNoMethod
		if s.offers(MethodPasskey) {
			msg = msgNoPasskey
		}
		s.notice(http.StatusForbidden, "step_up_no_credentials", msg)
		return
	}
	s.allow("step_up_page")
	s.render(http.StatusOK, stepup.PageData{Title: "Confirm it's you", Mode: stepup.ModeLogin, Base: s.base, Methods: methods, User: st.User})
}

// offers says whether this route offers method.
func (s *stepUpCall) offers(method string) bool {
	return slices.Contains(s.x.h.StepUpOptions.Methods, method)
}

// availableMethods are the route's methods this user can use now: a
// passkey only when one is registered; a selfie only when the Smile ID
// user id is known (user_id account_id needs the state's account id).
func (s *stepUpCall) availableMethods(st stepup.State) ([]string, error) {
	var out []string
	for _, m := range s.x.h.StepUpOptions.Methods {
		switch m {
		case MethodPasskey:
			has, err := s.pk.HasCredentials(s.r.Context(), st.User)
			if err != nil {
				return nil, err
			}
			if !has {
				continue
			}
		case MethodSelfie:
			if s.smileUserID(st) == "" {
				continue
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// methodOfPath names the method an endpoint belongs to ("" for the shared
// ones), so a route answers only for the methods it offers.
func methodOfPath(suffix string) string {
	switch suffix {
	case pathLoginBegin, pathLoginFinish, pathRegisterBegin, pathRegisterFinish, pathEnrol:
		return MethodPasskey
	case pathSelfieSubmit, pathSelfieStatus, pathSmileCallback:
		return MethodSelfie
	case pathLoginIDFinish:
		return MethodLoginID
	}
	return ""
}

// enrolPage shows the registration page to whoever may enrol. An admin
// enrolment link (?t=…) is moved into a cookie first, so the token leaves
// the address bar and the history.
func (s *stepUpCall) enrolPage() {
	if t := s.r.URL.Query().Get("t"); t != "" {
		setStepCookie(s.w.Header(), s.r, cookieEnrol, t, enrolLinkTTL)
		stepup.SetPageHeaders(s.w.Header(), false)
		s.w.Header().Set("Location", s.base+pathEnrol)
		s.w.WriteHeader(http.StatusSeeOther)
		s.allow("passkey_enrol_link")
		return
	}
	user, err := s.pk.MayEnroll(s.r.Context(), s.enrolProofs()...)
	if err != nil {
		s.notice(http.StatusForbidden, passkeyReason(err), msgEnrolDenied)
		return
	}
	s.x.attempt.User = user
	if s.rulesDeny() {
		return
	}
	s.allow("passkey_enrol_page")
	s.render(http.StatusOK, stepup.PageData{Title: "Register a passkey", Mode: stepup.ModeEnroll, Base: s.base, Done: s.x.h.EnrolDone})
}

// complete spends the state once the factor passed and sends the browser
// back to the login URL: with a continuation (the held login is finished
// there) or, in resubmit mode, with a pass for one more submission.
func (s *stepUpCall) complete() {
	if !sameOrigin(s.r) {
		s.notice(http.StatusForbidden, "step_up_cross_origin", msgInvalid)
		return
	}
	st, err := s.state()
	if err != nil {
		s.notice(http.StatusForbidden, refusalReason("step_up_", err), msgInvalid)
		return
	}
	if s.rulesDeny() {
		return
	}
	var f factorClaim
	ferr := appKeys{s.x.h.app}.Open(purposeFactor, readStepCookie(s.r, cookieFactor), s.x.h.stepUpNow(), &f)
	if ferr != nil || f.Handle != st.Handle {
		s.notice(http.StatusForbidden, "step_up_"+stepup.ReasonFactorFailed, msgInvalid)
		return
	}
	if st.Phase != stepup.PhaseResubmit && !s.held.Has(st.Handle) {
		s.notice(http.StatusForbidden, "step_up_"+stepup.ReasonHeldMissing, msgInvalid)
		return
	}
	if st, err = s.iss.Redeem(readStepCookie(s.r, cookieState), stepup.Binding{IP: s.x.attempt.IP, UserAgent: s.x.attempt.UserAgent}); err != nil {
		s.notice(http.StatusForbidden, refusalReason("step_up_", err), msgInvalid)
		return
	}
	s.reportResult(st, f.Method, true)
	hdr := s.w.Header()
	clearStepCookie(hdr, s.r, cookieState)
	clearStepCookie(hdr, s.r, cookieFactor)
	stepup.SetPageHeaders(hdr, false)
	status := http.StatusTemporaryRedirect // re-POST (empty) to the login URL
	if st.Phase == stepup.PhaseResubmit {
		pass, err := s.iss.IssuePass(st)
		if err != nil {
			s.internal(err)
			return
		}
		setStepCookie(hdr, s.r, cookiePass, pass, s.iss.PassTTL())
		status = http.StatusSeeOther // back to the form
	} else {
		cont, err := s.iss.IssueContinuation(st)
		if err != nil {
			s.internal(err)
			return
		}
		setStepCookie(hdr, s.r, cookieContinue, cont, s.iss.ContinueTTL())
	}
	hdr.Set("Location", st.Return)
	s.w.WriteHeader(status)
	s.allow("step_up_completed")
}

// sameOrigin refuses a completion posted from another site. The state
// cookie is SameSite=Strict already; this is the second lock. The page's
// no-referrer policy makes browsers send "Origin: null" on its own form
// POST, so null passes, and Sec-Fetch-Site (which browsers always send and
// pages cannot forge) must say same-origin when present.
func sameOrigin(r *http.Request) bool {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return o == scheme+"://"+r.Host
}

// notice answers with the generic page and records why.
func (s *stepUpCall) notice(status int, reason, msg string) {
	s.x.verdict.Add(rules.Deny, reason)
	s.render(status, stepup.PageData{Title: "Sign-in", Mode: stepup.ModeNotice, Base: s.base, Message: msg})
}

func (s *stepUpCall) render(status int, d stepup.PageData) {
	var buf bytes.Buffer
	if err := s.x.h.StepUpOptions.su.page.Render(&buf, d); err != nil {
		s.internal(err)
		return
	}
	stepup.SetPageHeaders(s.w.Header(), true)
	s.w.WriteHeader(status)
	if s.r.Method != http.MethodHead {
		_, s.err = s.w.Write(buf.Bytes())
	}
}

// internal is a failure of the guard's own (storage, keys): logged with
// its cause, answered without one.
func (s *stepUpCall) internal(err error) {
	s.x.h.logger.Error("step-up failed", zap.String("route", s.x.h.Name), zap.Error(err))
	s.x.verdict.Add(rules.Deny, "step_up_internal_error")
	s.err = caddyhttp.Error(http.StatusInternalServerError, errStepUpRefused)
}

func (s *stepUpCall) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.internal(err)
		return
	}
	stepup.SetPageHeaders(s.w.Header(), false)
	s.w.Header().Set("Content-Type", "application/json")
	s.w.WriteHeader(status)
	_, s.err = s.w.Write(b)
}

// refuseJSON answers a JSON endpoint's refusal: one generic body whatever
// the reason.
func (s *stepUpCall) refuseJSON(reason string) {
	s.x.verdict.Add(rules.Deny, reason)
	s.writeJSON(http.StatusForbidden, map[string]string{"error": "refused"})
}
