package request

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
)

// Who writes a route's refusals (the error_pages option).
const (
	// ErrorPagesGuard: the guard writes its page (or JSON) itself.
	ErrorPagesGuard = "guard"
	// ErrorPagesHandleErrors: the guard hands the answer to the site's
	// handle_errors through caddyhttp.Error.
	ErrorPagesHandleErrors = "handle_errors"
)

// Pages is the page set the route answers with: the app's, or the
// default set outside Caddy.
func (h *Route) Pages() *pages.Set {
	if h.App != nil && h.App.PageSet() != nil {
		return h.App.PageSet()
	}
	return pages.Default()
}

// Answer tells the person what happened: the guard's page or JSON, or on
// an `error_pages handle_errors` route the error for the site's
// handle_errors. {http.login_guard.code} and, for a rate limit,
// {http.login_guard.retry_after} are set either way.
func (h *Route) Answer(w http.ResponseWriter, r *http.Request, a pages.Answer) error {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.login_guard.code", boxed(string(a.Code)))
		if a.Code == pages.RateLimited && a.RetryAfter > 0 {
			repl.Set("http.login_guard.retry_after", pages.RetryAfter(a.RetryAfter).Boxed)
		}
	}
	if h.ErrorPages == ErrorPagesHandleErrors {
		if a.Code == pages.RateLimited && a.RetryAfter > 0 {
			w.Header().Set("Retry-After", pages.RetryAfter(a.RetryAfter).Text)
		}
		status := a.Status
		if status == 0 {
			status = a.Code.Status()
		}
		return RefusalError(status, AnswerError{a.Code})
	}
	if err := h.Pages().Write(w, r, a); err != nil {
		h.Logger.Error("writing the answer page", zap.String("route", h.Name), zap.Error(err))
		return caddyhttp.Error(http.StatusInternalServerError, AnswerError{pages.Internal})
	}
	return nil
}

// DenyAnswer is the block answer: rate_limited (429, Retry-After) when a
// rate rule said when to come back, else denied (403) — a lockout
// included, so it reveals nothing a plain deny does not.
func (x *Exchange) DenyAnswer() pages.Answer {
	if ra := x.Verdict.RetryAfter; ra > 0 {
		return pages.Answer{Code: pages.RateLimited, RetryAfter: ra}
	}
	return pages.Answer{Code: pages.Denied}
}

// StoreRetryAfter is the Retry-After, in seconds, of a step-up refused
// because a shared store did not answer: its breaker lets a call through
// again within two seconds.
const StoreRetryAfter = "5"

// StepUpAnswer is the answer to a step-up refusal, by its audit reason
// (StepUpCode). A token that could not be checked because the shared
// store (or the passkey storage) did not answer was not spent: the same
// request may be sent again, and hdr gets Retry-After to say so.
func StepUpAnswer(hdr http.Header, reason string) pages.Answer {
	switch reason {
	case "step_up_" + stepup.ReasonStoreUnavailable, "step_up_" + stepup.ReasonPasskeyStorageUnavailable:
		hdr.Set("Retry-After", StoreRetryAfter)
	}
	return pages.Answer{Code: StepUpCode(reason)}
}

// ClearUsedStepCookie deletes the cookie of a one-time step-up token
// whose use was tried (err its refusal, nil when it was used), unless the
// shared store (or the passkey storage) could not check it
// (stepup.Unspent): such a token was not spent, so its cookie stays for
// the same request sent again once the store answers.
func ClearUsedStepCookie(hdr http.Header, r *http.Request, base, domain string, err error) {
	if !stepup.Unspent(err) {
		ClearSharedStepCookie(hdr, r, base, domain)
	}
}

// StepUpCode is what a person is told about a step-up refusal, by its
// audit reason ("step_up_expired", …).
func StepUpCode(reason string) pages.Code {
	switch reason {
	case "step_up_" + stepup.ReasonStoreUnavailable, "step_up_" + stepup.ReasonPasskeyStorageUnavailable:
		return pages.Unavailable
	case "step_up_" + stepup.ReasonMissing:
		return pages.StepUpMissing
	case "step_up_" + stepup.ReasonExpired, "step_up_" + stepup.ReasonHeldMissing:
		return pages.StepUpExpired
	case "step_up_" + stepup.ReasonReplayed:
		return pages.StepUpUsed
	case "step_up_" + stepup.ReasonIPMismatch, "step_up_" + stepup.ReasonAgentMismatch:
		return pages.StepUpMoved
	case "step_up_" + stepup.ReasonReplayFull, "step_up_internal_error", "step_up_" + stepup.ReasonPasskeyUnavailable:
		return pages.StepUpUnavailable
	}
	return pages.StepUpFailed
}

// PasskeyCode is what a person is told about a passkey refusal.
func PasskeyCode(err error) pages.Code {
	switch passkeys.ReasonOf(err) {
	case passkeys.ReasonEnrolNoProof, passkeys.ReasonEnrolNotAccepted:
		return pages.EnrolSignIn
	case passkeys.ReasonEnrolStaleSession:
		return pages.EnrolSignInAgain
	case passkeys.ReasonEnrolDuringChallenge, passkeys.ReasonEnrolChallengedLogin:
		return pages.EnrolNotAllowed
	case passkeys.ReasonEnrolNeedsLink, passkeys.ReasonEnrolLoginIDNeedsLink:
		return pages.EnrolNeedsLink
	case passkeys.ReasonEnrolNeedsPasskey, passkeys.ReasonEnrolConfirmRemoved, passkeys.ReasonEnrolConfirmCloneWarning:
		return pages.EnrolConfirm
	case passkeys.ReasonEnrolTokenSpent:
		return pages.EnrolLinkUsed
	case passkeys.ReasonEnrolTokenInvalid:
		return pages.EnrolLinkInvalid
	case passkeys.ReasonEnrolUserConflict:
		return pages.EnrolOtherAccount
	case passkeys.ReasonTooManyCredentials:
		return pages.EnrolLimit
	case passkeys.ReasonLoginIDRegistered, passkeys.ReasonLoginIDOtherName:
		return pages.EnrolLoginIDRegistered
	case passkeys.ReasonNoCredentials:
		return pages.NoFactor
	case passkeys.ReasonBodyTooLarge:
		return pages.TooLarge
	case passkeys.ReasonMalformed:
		return pages.BadRequest
	case "":
		return pages.Internal
	}
	return pages.StepUpFailed
}
