package login

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// reasonStepUpPassed marks a request let through because its user passed
// a step-up: the guard session it opens is flagged, so it cannot be used
// to enrol a passkey, and engines are not asked again after the upstream.
const reasonStepUpPassed = "step_up_passed"

// steppedUp reports whether this request is the finish of a passed
// step-up.
func (x *exchange) steppedUp() bool {
	return slices.Contains(x.Verdict.Reasons, reasonStepUpPassed)
}

// markSteppedUp turns a challenge into an allow for a user who passed the
// factor. Verdict.Add cannot lower an action (worst wins), so the action
// is set directly.
func (x *exchange) markSteppedUp() {
	x.Verdict.Action = rules.Allow
	x.Verdict.Reasons = append(x.Verdict.Reasons, reasonStepUpPassed)
}

func (x *exchange) stepBinding() stepup.Binding {
	return stepup.Binding{User: x.Attempt.User, Route: x.h.Name, IP: x.Attempt.IP, UserAgent: x.Attempt.UserAgent,
		StepUp: x.h.StepUpOptions.place}
}

// challenge holds the request and sends the browser to the step-up
// page (or a JSON client the URL and state).
func (x *exchange) challenge(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	o := &x.h.StepUpOptions
	if o.StepUp == "" {
		return x.h.route.Answer(w, r, pages.Answer{Code: pages.StepUpRequired})
	}
	if !x.takeFactorUser("step_up_") {
		return x.h.route.Answer(w, r, x.DenyAnswer())
	}
	iss, rt, err := o.states.Machinery(x.h.app)
	if err != nil {
		return x.stepUpUnavailable(w, r, err)
	}
	// A pass is honoured in either mode: a resume-mode challenge whose
	// request could not be held fell back to resubmit.
	if x.usePass(w, r, iss, rt) {
		return x.forwardAllowed(w, r, next)
	}
	if o.Continuation == ContinuationResubmit {
		return x.sendToStepUp(w, r, iss, stepup.PhaseResubmit, stepup.Ref{}, resubmitReturn(r))
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		// The parser left a replay of the body it read in r.Body.
		body, err = io.ReadAll(io.LimitReader(r.Body, x.h.MaxBody+1))
		if err != nil || int64(len(body)) > x.h.MaxBody {
			return x.h.route.Answer(w, r, pages.Answer{Code: pages.BadRequest})
		}
	}
	orig := request.OriginalRequest(r)
	hdr := r.Header.Clone()
	hdr.Del("Cookie") // the replay carries the cookies of the moment it happens
	// The replay goes to the URL this pass would forward (after any
	// rewrite before the guard); the browser returns to the one it used.
	ref, err := rt.Held.PutRequest(x.heldOwner(), stepup.Request{Method: r.Method, URL: r.URL.RequestURI(), Header: hdr, Body: body,
		Operation: x.operationValues, Client: x.Attempt.IP})
	if stepup.ReasonOf(err) == stepup.ReasonHeldFull {
		return x.heldFull(w, r, iss)
	}
	if err != nil {
		return x.stepUpUnavailable(w, r, err)
	}
	return x.sendToStepUp(w, r, iss, stepup.PhaseBefore, ref, orig.RequestURI)
}

// challengeAfterUpstream keeps the upstream's withheld answer (its Set-Cookie
// included) until the user passed the factor, so the portal is not asked
// to log in twice.
func (x *exchange) challengeAfterUpstream(w http.ResponseWriter, r *http.Request, held *heldResponse) error {
	o := &x.h.StepUpOptions
	if o.StepUp == "" {
		return x.h.route.Answer(w, r, pages.Answer{Code: pages.StepUpRequired})
	}
	iss, rt, err := o.states.Machinery(x.h.app)
	if err != nil {
		return x.stepUpUnavailable(w, r, err)
	}
	resp := stepup.Response{Status: held.Status, Header: held.Header, Body: held.Body, Client: x.Attempt.IP}
	if x.usePass(w, r, iss, rt) {
		return x.releaseResponse(w, r, resp)
	}
	if o.Continuation == ContinuationResubmit {
		return x.sendToStepUp(w, r, iss, stepup.PhaseResubmit, stepup.Ref{}, resubmitReturn(r))
	}
	ref, err := rt.Held.PutResponse(x.heldOwner(), resp)
	if stepup.ReasonOf(err) == stepup.ReasonHeldFull {
		return x.heldFull(w, r, iss)
	}
	if err != nil {
		return x.stepUpUnavailable(w, r, err)
	}
	return x.sendToStepUp(w, r, iss, stepup.PhaseAfter, ref, request.OriginalRequest(r).RequestURI)
}

// heldOwner names whose held entry this is, for the held store's
// per-client and per-user shares: the client's address prefix (as the
// state binds it) and a digest of the user name.
func (x *exchange) heldOwner() stepup.Owner {
	var o stepup.Owner
	if p, ok := x.h.StepUpOptions.states.Prefix.Of(x.Attempt.IP); ok {
		o.Client = p
	}
	if x.Attempt.User != "" {
		sum := sha256.Sum256([]byte(x.h.Name + "\x00" + x.Attempt.User))
		o.User = string(sum[:16])
	}
	return o
}

// heldFull answers a challenge whose request (or withheld answer) the
// held store refused because this client or user already holds its
// share: rather than evict anyone else's pending step-up, the challenge
// falls back to resubmit (the user submits the form again after the
// factor).
func (x *exchange) heldFull(w http.ResponseWriter, r *http.Request, iss *stepup.Issuer) error {
	x.Verdict.Add(rules.Challenge, "step_up_"+stepup.ReasonHeldFull)
	return x.sendToStepUp(w, r, iss, stepup.PhaseResubmit, stepup.Ref{}, resubmitReturn(r))
}

// sendToStepUp issues the state into its cookie and answers: 303 to the
// step-up page for a browser, 401 with the URL and state for a JSON
// client. The state is never put in the URL, where logs and Referer
// headers would keep it.
func (x *exchange) sendToStepUp(w http.ResponseWriter, r *http.Request, iss *stepup.Issuer, phase stepup.Phase, ref stepup.Ref, ret string) error {
	o := &x.h.StepUpOptions
	if o.StepUpCookieDomain != "" {
		// The step-up is on another host: its completion sends the
		// browser back to this one (Issue checks the host is within the
		// cookie domain).
		ret = "https://" + r.Host + ret
	}
	tok, _, err := iss.Issue(stepup.Challenge{
		Binding:      x.stepBinding(),
		Reasons:      x.Verdict.Reasons,
		Correlations: x.Verdict.Correlations,
		AccountID:    x.Attempt.AccountID,
		Phase:        phase,
		Return:       ret,
		Domain:       o.StepUpCookieDomain,
		Host:         r.Host,
		Held:         ref,
		Operation:    x.h.Event == EventOperation,
	})
	if err != nil {
		return x.stepUpUnavailable(w, r, err)
	}
	hdr := w.Header()
	hdr.Add("Set-Cookie", request.StepCookie(r, request.CookieState, tok, iss.StateTTL(), o.StepUpCookieDomain).String())
	stepup.SetPageHeaders(hdr, false)
	if pages.WantsJSON(r) {
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		return json.NewEncoder(w).Encode(struct {
			Error   pages.Code `json:"error"`
			Message string     `json:"message"`
			StepUp  string     `json:"step_up"`
			State   string     `json:"state"`
		}{pages.StepUpRequired, stepUpJSONMessage, o.StepUp, tok})
	}
	hdr.Set("Location", o.StepUp)
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

// usePass spends a resubmit pass for this user and route, if the request
// carries one that opens, and, when a passkey passed its step-up, while
// that passkey is still enrolled. A pass that does not open is dropped and
// the request is challenged as usual.
func (x *exchange) usePass(w http.ResponseWriter, r *http.Request, iss *stepup.Issuer, rt *app.StepUpRuntime) bool {
	tok := request.ReadLoginStepCookie(r, request.CookiePass, x.h.StepUpOptions.StepUpCookieDomain)
	if tok == "" {
		return false
	}
	b := x.stepBinding()
	b.LoginHost = r.Host
	_, err := iss.ConsumePass(tok, b, x.h.route.PasskeyStands(r.Context(), rt.Passkeys))
	// A pass the shared store (or the passkey storage) could not check
	// stays for the next POST.
	request.ClearUsedStepCookie(w.Header(), r, request.CookiePass, x.h.StepUpOptions.StepUpCookieDomain, err)
	if err != nil {
		x.Verdict.Add(rules.Challenge, request.RefusalReason("step_up_pass_", err))
		return false
	}
	x.markSteppedUp()
	return true
}

// forwardAllowed passes a request the guard let through after a step-up,
// the way ServeHTTP passes an allowed one.
func (x *exchange) forwardAllowed(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	x.setUpstreamHeaders(r) // the portal learns the login passed a step-up
	switch x.h.Event {
	case EventLogin:
		return x.forwardLogin(w, r, next)
	case EventOperation:
		x.reportOperation(r)
	}
	return x.serveNext(next, w, r)
}

// releaseResponse writes a withheld upstream answer with the guard's
// session cookie, as forwardLogin would have. The portal's success it
// carries is counted now, once it goes out (a reset of the lockouts
// through the exchange's ticket: the login's own, or CountHeldOutcome's
// on a continuation); forwardLogin, which withheld it, counted nothing.
func (x *exchange) releaseResponse(w http.ResponseWriter, r *http.Request, resp stepup.Response) error {
	hdr := w.Header()
	for k, vs := range resp.Header {
		hdr[k] = append(hdr[k], vs...)
	}
	x.Outcome, x.Attempt.Outcome = rules.OutcomeSuccess, rules.OutcomeSuccess
	sess := x.smartIDSession(r, resp.Header)
	if err := x.setSessionCookie(r, hdr, app.Session{User: x.Attempt.User, Session: sess}); err != nil {
		x.h.logger.Error("issuing session cookie", zap.String("route", x.h.Name), zap.Error(err))
	}
	w.WriteHeader(resp.Status)
	x.ObserveOutcome()
	_, err := w.Write(resp.Body)
	return err
}

// stepUpJSONMessage tells a script's user what the 401 with a step_up URL
// asks of them.
const stepUpJSONMessage = "Confirm it's you at the step_up URL, carrying the state, to finish this request."

// stepUpUnavailable answers a challenge the guard could not set up (the
// held store refused the entry, no keys): step_up_unavailable (503), with
// the cause in the log only.
func (x *exchange) stepUpUnavailable(w http.ResponseWriter, r *http.Request, err error) error {
	x.h.logger.Error("step-up unavailable", zap.String("route", x.h.Name), zap.Error(err))
	x.Verdict.Add(rules.Challenge, "step_up_unavailable")
	return x.h.route.Answer(w, r, pages.Answer{Code: pages.StepUpUnavailable})
}

// resubmitReturn is where the browser goes to submit the form again: the
// page the login was posted from when the Referer names one on this site,
// else the site's root.
func resubmitReturn(r *http.Request) string {
	ref, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || ref.Host != r.Host || ref.Path == "" {
		return "/"
	}
	ret := ref.EscapedPath()
	if ref.RawQuery != "" {
		ret += "?" + ref.RawQuery
	}
	if stepup.ValidateTarget(ret, nil) != nil {
		return "/"
	}
	return ret
}
