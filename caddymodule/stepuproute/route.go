package stepuproute

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// Paths under the step-up route's base ("/verify"): the page is the base
// itself.
const (
	pathScript         = "/stepup.js"
	pathEnrol          = stepup.PathEnrol
	pathEnrolled       = "/enrolled"
	pathLoginBegin     = "/passkey/begin"
	pathLoginFinish    = "/passkey/finish"
	pathRegisterBegin  = "/passkey/register/begin"
	pathRegisterFinish = "/passkey/register/finish"
	pathConfirmBegin   = "/passkey/confirm/begin"
	pathConfirmFinish  = "/passkey/confirm/finish"
	pathComplete       = "/complete"
	pathSelfieSubmit   = "/selfie/submit"
	pathSelfieStatus   = "/selfie/status"
	pathSmileCallback  = "/smileid/callback"
	pathLoginIDFinish  = "/loginid/finish"
)

var stepUpSuffixes = []string{pathRegisterBegin, pathRegisterFinish, pathConfirmBegin, pathConfirmFinish, pathLoginBegin, pathLoginFinish, pathComplete, pathEnrol, pathEnrolled, pathScript,
	pathSelfieSubmit, pathSelfieStatus, pathSmileCallback, pathLoginIDFinish, pathLoginIDRegisterBegin, pathLoginIDRegisterFinish}

// Factor tokens say "the factor passed for this state" between the
// passkey finish and the completion.
const (
	purposeFactor = "stepup_factor"
	factorTTL     = 5 * time.Minute
	enrolLinkTTL  = 15 * time.Minute
	// enrolledTTL bounds the cookie that shows the confirmation page once
	// after a registration.
	enrolledTTL = 5 * time.Minute
)

type factorClaim struct {
	Handle string `json:"h"`
	Method string `json:"m"`
	// Passkey names the passkey that passed (method passkey), by its
	// passkeys.CredentialDigest: the completion finishes only while it
	// is still enrolled. A credential id may be up to 1 023 bytes, which
	// the cookie would carry whole; its digest is 16.
	Passkey []byte `json:"d,omitempty"`
	// Credential is the whole credential id, as factor tokens sealed
	// before Passkey name it (for their 5 minutes, during an upgrade).
	Credential []byte `json:"c,omitempty"`
}

// serve dispatches the step-up route's requests. Every answer but the
// script writes one audit line.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	x := new(request.Exchange)
	x.Init(h.route, r, time.Now())
	suffix, base := stepUpPath(r)
	if base == "" {
		h.logger.Warn("the step-up route must be mounted under a path, e.g. handle /verify*", zap.String("route", h.Name))
		return h.route.Answer(w, r, pages.Answer{Code: pages.NotFound})
	}
	// The base goes into the pages' URLs and the enrol link's redirect.
	// Caddy's path matcher merges slashes, so /verify* also selects
	// //verify-evil.example/enrol, whose base would redirect to another
	// site: such a path is not this route's.
	if stepup.ValidateTarget(base, nil) != nil {
		return h.route.Answer(w, r, pages.Answer{Code: pages.NotFound})
	}
	if suffix == pathScript {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return h.route.Answer(w, r, pages.Answer{Code: pages.MethodNotAllowed})
		}
		stepup.SetPageHeaders(w.Header(), false)
		w.Header().Set("Content-Type", stepup.ScriptContentType)
		_, err := w.Write(stepup.Script())
		return err
	}
	iss, rt, err := h.stepUp.Machinery(h.app)
	if err != nil {
		h.logger.Error("step-up unavailable", zap.String("route", h.Name), zap.Error(err))
		return h.route.Answer(w, r, pages.Answer{Code: pages.StepUpUnavailable})
	}
	wantPost := suffix != "" && suffix != pathEnrol && suffix != pathEnrolled
	s := &stepUpCall{h: h, x: x, w: w, r: r, iss: iss, pk: rt.Passkeys, smile: rt.Smile, held: rt.Held, base: base,
		json: wantPost && suffix != pathComplete}
	if (wantPost && r.Method != http.MethodPost) || (!wantPost && r.Method != http.MethodGet && r.Method != http.MethodHead) {
		// A 405 names the methods the endpoint takes (RFC 9110, 15.5.6).
		allow := "GET, HEAD"
		if wantPost {
			allow = "POST"
		}
		w.Header().Set("Allow", allow)
		s.fail("step_up_method", pages.Answer{Code: pages.MethodNotAllowed})
	} else if !h.serves(suffix) {
		s.fail("step_up_method_not_offered", pages.Answer{Code: pages.NotFound})
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
		case pathEnrolled:
			s.enrolledPage()
		case pathLoginBegin:
			s.loginBegin()
		case pathLoginFinish:
			s.loginFinish()
		case pathRegisterBegin:
			s.registerBegin()
		case pathRegisterFinish:
			s.registerFinish()
		case pathConfirmBegin:
			s.confirmBegin()
		case pathConfirmFinish:
			s.confirmFinish()
		case pathComplete:
			s.complete()
		case pathSelfieSubmit:
			s.selfieSubmit()
		case pathSelfieStatus:
			s.selfieStatus()
		case pathLoginIDFinish:
			s.loginidFinish()
		case pathLoginIDRegisterBegin:
			s.loginidRegisterBegin()
		case pathLoginIDRegisterFinish:
			s.loginidRegisterFinish()
		}
	}
	x.Finish(r)
	return s.err
}

// stepUpCall is one request to the step-up route.
type stepUpCall struct {
	h     *Handler
	x     *request.Exchange
	w     http.ResponseWriter
	r     *http.Request
	iss   *stepup.Issuer
	pk    *passkeys.Passkeys
	smile *smileidpool.Pooled
	held  stepup.HeldStore
	base  string
	// json: the endpoint is one the page's script calls, so every answer
	// is JSON; the pages (and the completion form) get pages.
	json bool
	err  error
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
	orig := request.OriginalRequest(r).URL.Path
	if !strings.HasSuffix(orig, suffix) {
		orig = p
	}
	base = strings.TrimRight(strings.TrimSuffix(orig, suffix), "/")
	return suffix, base
}

// state opens the step-up state the browser carries, without spending it.
// One step-up route serves every guarded route, so only the client and
// the step-up route (its host and path) are compared; the user comes from
// the state.
func (s *stepUpCall) state() (stepup.State, error) {
	st, err := s.openState(s.binding())
	if err == nil {
		s.x.Attempt.User = st.User
	}
	return st, err
}

// binding is what this request says about the client and where it came.
func (s *stepUpCall) binding() stepup.Binding {
	return stepup.Binding{IP: s.x.Attempt.IP, UserAgent: s.x.Attempt.UserAgent, StepUp: stepup.StepUpPlace(s.r.Host, s.base)}
}

// stateToken is the step-up state cookie, under the name the login route
// set it: host-only, or, for a step-up on another host, under the shared
// domain (shared).
func (s *stepUpCall) stateToken() (tok string, shared bool) {
	if tok = request.ReadStepCookie(s.r, request.CookieState); tok != "" {
		return tok, false
	}
	return request.ReadSharedStepCookie(s.r, request.CookieState), true
}

// openState verifies the state cookie against b without spending it. A
// state counts under the shared-domain name only when it records that
// domain: every host under the domain can set that cookie, and the
// guard sets it there only for a login whose step-up is on another host.
func (s *stepUpCall) openState(b stepup.Binding) (stepup.State, error) {
	tok, shared := s.stateToken()
	st, err := s.iss.Verify(tok, b)
	if err == nil && shared && st.Domain == "" {
		return stepup.State{}, &stepup.Error{Reason: stepup.ReasonCookieDomain}
	}
	return st, err
}

// endpointState is state() for the page's JSON endpoints: a state that
// does not verify is answered (the JSON refusal) here, and ok is false.
func (s *stepUpCall) endpointState() (stepup.State, bool) {
	st, err := s.state()
	if err != nil {
		s.refuseJSON(request.RefusalReason("step_up_", err))
		return stepup.State{}, false
	}
	return st, true
}

// decide applies the route's IP lists and local rules (rate limits on
// the step-up endpoints).
func (h *Handler) decide(x *request.Exchange) {
	if x.CheckIPs() {
		return
	}
	x.ApplyRules()
	x.ApplyRulesAfterEngines()
}

// rulesDeny applies the route's rules (rate limits on the step-up
// endpoints) once the user is known; true when they refused.
func (s *stepUpCall) rulesDeny() bool {
	s.h.decide(s.x)
	if s.x.Verdict.Action != rules.Deny {
		return false
	}
	s.reply(s.x.DenyAnswer())
	return true
}

func (s *stepUpCall) loginPage() {
	st, err := s.state()
	if err != nil {
		s.refuseState(err)
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
		// No dead end: the page says how to get a factor (and links the
		// operator's help_url when set). This sign-in cannot be confirmed,
		// so its state is dropped: a pending step-up vetoes enrolment, and
		// the enrolment link the person is sent for must work here.
		request.ClearSharedStepCookie(s.w.Header(), s.r, request.CookieState, st.Domain)
		s.fail("step_up_no_credentials", pages.Answer{Code: pages.NoFactor})
		return
	}
	s.x.Allow("step_up_page")
	// A completion that sends the browser back to the login on another
	// host redirects the page's form there: its form-action must allow it.
	title := "Confirm it's you"
	if st.Operation {
		title = "Confirm this request"
	}
	s.render(stepup.PageData{Title: title, Mode: stepup.ModeLogin, Base: s.base, Methods: methods, User: st.User, Operation: st.Operation},
		stepup.ReturnOrigin(st.Return))
}

// availableMethods are the route's methods this user can use now: a
// passkey only when one is registered; a selfie only when the Smile ID
// user id is known (user_id account_id needs the state's account id);
// LoginID, under require_enrolment, only with a LoginID record for the
// user.
func (s *stepUpCall) availableMethods(st stepup.State) ([]string, error) {
	var out []string
	for _, m := range s.h.Methods {
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
		case MethodLoginID:
			enrolled, err := s.loginIDEnrolled(st.User)
			if err != nil {
				return nil, err
			}
			if !enrolled {
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
	case pathLoginBegin, pathLoginFinish, pathRegisterBegin, pathRegisterFinish, pathConfirmBegin, pathConfirmFinish, pathEnrol, pathEnrolled:
		return MethodPasskey
	case pathSelfieSubmit, pathSelfieStatus, pathSmileCallback:
		return MethodSelfie
	case pathLoginIDFinish, pathLoginIDRegisterBegin, pathLoginIDRegisterFinish:
		return MethodLoginID
	}
	return ""
}

// enrolPage shows the registration page to whoever may enrol. An admin
// enrolment link (?t=…) is moved into a cookie first, so the token leaves
// the address bar and the history.
func (s *stepUpCall) enrolPage() {
	if t := s.r.URL.Query().Get("t"); t != "" {
		request.SetStepCookie(s.w.Header(), s.r, request.CookieEnrol, t, enrolLinkTTL)
		stepup.SetPageHeaders(s.w.Header(), false)
		s.w.Header().Set("Location", s.base+pathEnrol)
		s.w.WriteHeader(http.StatusSeeOther)
		s.x.Allow("passkey_enrol_link")
		return
	}
	if _, ok := s.enrolCaller(s.mayOpenEnrolPage); !ok {
		return
	}
	s.x.Allow("passkey_enrol_page")
	// After registering, the script goes to the confirmation page, which
	// leads on to enrol_done. The operator's page is told what it may
	// register (a LoginID credential, for the user named, under
	// require_enrolment); the theme's registers a passkey.
	d := stepup.PageData{Title: "Register a passkey", Mode: stepup.ModeEnroll, Base: s.base, Done: s.base + pathEnrolled}
	if s.h.page != nil {
		d.Methods, d.User = s.h.enrolMethods(), s.x.Attempt.User
		d.Title = enrolTitle(d.Methods)
	}
	s.render(d, "")
}

// enrolTitle names what the enrolment page registers.
func enrolTitle(methods []string) string {
	switch {
	case !slices.Contains(methods, MethodLoginID):
		return "Register a passkey"
	case slices.Contains(methods, MethodPasskey):
		return "Register a passkey or a LoginID sign-in"
	}
	return "Register a LoginID sign-in"
}

// The enrolled cookie's values: what was registered, which the
// confirmation page names (any value but enrolledLoginID is a passkey).
const (
	enrolledPasskey = "1"
	enrolledLoginID = "loginid"
)

// enrolledPage confirms a registration: shown once, after the
// registration set its cookie; without it the browser goes on to
// enrol_done.
func (s *stepUpCall) enrolledPage() {
	what := request.ReadStepCookie(s.r, request.CookieEnrolled)
	if what == "" {
		stepup.SetPageHeaders(s.w.Header(), false)
		s.w.Header().Set("Location", s.h.EnrolDone)
		s.w.WriteHeader(http.StatusSeeOther)
		s.x.Allow("passkey_enrolled_page_again")
		return
	}
	request.ClearStepCookie(s.w.Header(), s.r, request.CookieEnrolled)
	s.x.Allow("passkey_enrolled_page")
	code := pages.Enrolled
	if what == enrolledLoginID {
		code = pages.EnrolledLoginID
	}
	s.reply(pages.Answer{Code: code, Next: s.h.EnrolDone})
}

// complete spends the state once the factor passed and sends the browser
// back to the login URL: with a continuation (the held login is finished
// there) or, in resubmit mode, with a pass for one more submission.
func (s *stepUpCall) complete() {
	if !sameOrigin(s.r) {
		s.fail("step_up_cross_origin", pages.Answer{Code: pages.StepUpFailed})
		return
	}
	st, err := s.state()
	if err != nil {
		s.refuseState(err)
		return
	}
	if s.rulesDeny() {
		return
	}
	var f factorClaim
	ferr := s.h.app.Tokens().Open(purposeFactor, request.ReadStepCookie(s.r, request.CookieFactor), time.Now(), &f)
	if ferr != nil || f.Handle != st.Handle {
		s.fail("step_up_"+stepup.ReasonFactorFailed, pages.Answer{Code: pages.StepUpFailed})
		return
	}
	if !s.passkeyStillStands(st, f) {
		return
	}
	if st.Phase != stepup.PhaseResubmit && !s.held.Has(st.Handle) {
		s.fail("step_up_"+stepup.ReasonHeldMissing, pages.Answer{Code: pages.StepUpExpired})
		return
	}
	// The same cookie state() opened, its name checked there.
	tok, _ := s.stateToken()
	if st, err = s.iss.Redeem(tok, s.binding()); err != nil {
		s.refuseState(err)
		return
	}
	s.reportResult(st, f.Method, true)
	// The continuation or pass names the passkey that passed, which the
	// login route looks up again as it spends it.
	st.Passkey = f.passkeyDigest()
	hdr := s.w.Header()
	request.ClearSharedStepCookie(hdr, s.r, request.CookieState, st.Domain)
	request.ClearStepCookie(hdr, s.r, request.CookieFactor)
	stepup.SetPageHeaders(hdr, false)
	status := http.StatusTemporaryRedirect // re-POST (empty) to the login URL
	if st.Phase == stepup.PhaseResubmit {
		pass, err := s.iss.IssuePass(st)
		if err != nil {
			s.internal(err)
			return
		}
		request.SetSharedStepCookie(hdr, s.r, request.CookiePass, pass, s.iss.PassTTL(), st.Domain)
		status = http.StatusSeeOther // back to the form
	} else {
		cont, err := s.iss.IssueContinuation(st)
		if err != nil {
			s.internal(err)
			return
		}
		request.SetSharedStepCookie(hdr, s.r, request.CookieContinue, cont, s.iss.ContinueTTL(), st.Domain)
	}
	hdr.Set("Location", st.Return)
	s.w.WriteHeader(status)
	s.x.Allow("step_up_completed")
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

// fail records why in the audit line and tells the person what to do.
func (s *stepUpCall) fail(reason string, a pages.Answer) {
	s.x.Verdict.Add(rules.Deny, reason)
	s.reply(a)
}

// refuseState answers a step-up state that does not open (or no longer
// does): missing, expired, used, moved or forged, each told as such; one
// the shared store could not check is told to try again (its cookie
// stays).
func (s *stepUpCall) refuseState(err error) {
	reason := request.RefusalReason("step_up_", err)
	s.fail(reason, request.StepUpAnswer(s.w.Header(), reason))
}

// reply writes a: JSON on the script's endpoints, else the route's page
// (or, with error_pages handle_errors, the error for handle_errors).
func (s *stepUpCall) reply(a pages.Answer) {
	if s.json {
		if err := s.h.route.Pages().WriteJSON(s.w, a); err != nil {
			s.err = err
		}
		return
	}
	s.err = s.h.route.Answer(s.w, s.r, a)
}

// render writes the step-up or enrolment page: the operator's
// page_template when set, else the pages' theme. formAction is the
// origin the completion form's redirect goes to when it is not this
// page's (stepup.ReturnOrigin), "" otherwise.
func (s *stepUpCall) render(d stepup.PageData, formAction string) {
	if s.h.page != nil {
		var buf bytes.Buffer
		if err := s.h.page.Render(&buf, d); err != nil {
			s.internal(err)
			return
		}
		stepup.SetPageHeaders(s.w.Header(), true)
		s.w.Header().Set("Content-Security-Policy", stepup.PageCSPFor(formAction))
		s.w.WriteHeader(http.StatusOK)
		if s.r.Method != http.MethodHead {
			_, s.err = s.w.Write(buf.Bytes())
		}
		return
	}
	st := pages.StepUp{Mode: d.Mode, Base: d.Base, Done: d.Done, User: d.User, Methods: d.Methods, Operation: d.Operation, FormAction: formAction}
	if err := s.h.route.Pages().WriteStepUp(s.w, s.r, st); err != nil {
		s.internal(err)
	}
}

// internal is a failure of the guard's own (storage, keys): logged with
// its cause, answered without one.
func (s *stepUpCall) internal(err error) {
	s.h.logger.Error("step-up failed", zap.String("route", s.h.Name), zap.Error(err))
	s.fail("step_up_internal_error", pages.Answer{Code: pages.Internal})
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

// busy answers a client over its share of something in flight (passkey
// ceremonies, selfie submissions, pending jobs): 429 with Retry-After;
// nobody else's work was dropped for it.
func (s *stepUpCall) busy(reason string) {
	s.x.Verdict.Add(rules.Deny, reason)
	s.w.Header().Set("Retry-After", "5")
	s.writeJSON(http.StatusTooManyRequests, map[string]string{"error": "busy"})
}

// refuseJSON answers a refusal on one of the script's endpoints: the
// code the person's situation calls for, never the audit reason.
func (s *stepUpCall) refuseJSON(reason string) {
	a := pages.Answer{Code: pages.StepUpFailed}
	if strings.HasPrefix(reason, "step_up_") {
		a = request.StepUpAnswer(s.w.Header(), reason)
	}
	s.fail(reason, a)
}
