package caddymodule

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
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

// AppPages are the app's page settings: the portal's name and logo, the
// help link and the operator's template directory.
type AppPages struct {
	Pages *pages.Options `json:"pages,omitempty"`

	pageSet *pages.Set
}

// unmarshalPages reads
//
//	pages {
//		portal_name <name>
//		logo        <path on this site>
//		sign_in_url <path>
//		help_url    <path or https URL>
//		help_text   <text>
//		lang        <language tag>
//		dir         <directory of templates>
//	}
//
// checking each option (and the templates in dir) on its line.
func (a *AppPages) unmarshalPages(d *caddyfile.Dispenser) error {
	o := new(pages.Options)
	if err := eachOption(d, "pages", nil, func(key string) error {
		dst := map[string]*string{
			"portal_name": &o.PortalName, "logo": &o.Logo, "sign_in_url": &o.SignInURL,
			"help_url": &o.HelpURL, "help_text": &o.HelpText, "lang": &o.Lang, "dir": &o.Dir,
		}[key]
		if dst == nil {
			return d.Errf("pages: unknown option %q", key)
		}
		if err := oneArg(d, dst); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return d.Errf("%v", err)
		}
		if key == "dir" {
			// Parse the operator's templates now: a broken one fails here,
			// on its line, not on a user.
			if _, err := pages.New(pages.Options{Dir: o.Dir}); err != nil {
				return d.Errf("%v", err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	a.Pages = o
	return nil
}

// provisionPages parses the templates and renders the fixed answers.
func (a *AppPages) provisionPages() error {
	if a.Pages == nil {
		a.pageSet = pages.Default()
		return nil
	}
	o := *a.Pages
	o.PortalName = caddy.NewReplacer().ReplaceKnown(o.PortalName, "")
	s, err := pages.New(o)
	if err != nil {
		return fmt.Errorf("login_guard %w", err)
	}
	a.pageSet = s
	return nil
}

// pages is the app's template set; the built-in one for an app that was
// not provisioned (benchmarks).
func (h *Handler) pages() *pages.Set {
	if h.app != nil && h.app.pageSet != nil {
		return h.app.pageSet
	}
	return pages.Default()
}

// answer tells the person what happened: the guard's page or JSON, or on
// an `error_pages handle_errors` route the error for the site's
// handle_errors. {http.login_guard.code} and, for a rate limit,
// {http.login_guard.retry_after} are set either way.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, a pages.Answer) error {
	status := a.Status
	if status == 0 {
		status = a.Code.Status()
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.login_guard.code", string(a.Code))
		if a.Code == pages.RateLimited && a.RetryAfter > 0 {
			repl.Set("http.login_guard.retry_after", strconv.FormatInt(pages.RetryAfterSeconds(a.RetryAfter), 10))
		}
	}
	if h.ErrorPages == ErrorPagesHandleErrors {
		if a.Code == pages.RateLimited && a.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(pages.RetryAfterSeconds(a.RetryAfter), 10))
		}
		return refusalError(status, answerError{a.Code})
	}
	if err := h.pages().Write(w, r, a); err != nil {
		h.logger.Error("writing the answer page", zap.String("route", h.Name), zap.Error(err))
		return caddyhttp.Error(http.StatusInternalServerError, answerError{pages.Internal})
	}
	return nil
}

// denyAnswer is the block answer: rate_limited (429, Retry-After) when a
// rate rule said when to come back, else denied (403) — a lockout
// included, so it reveals nothing a plain deny does not.
func (x *exchange) denyAnswer() pages.Answer {
	if ra := x.verdict.RetryAfter; ra > 0 {
		return pages.Answer{Code: pages.RateLimited, RetryAfter: ra}
	}
	return pages.Answer{Code: pages.Denied}
}

// stepUpCode is what a person is told about a step-up refusal, by its
// audit reason ("step_up_expired", …).
func stepUpCode(reason string) pages.Code {
	switch reason {
	case "step_up_" + stepup.ReasonMissing:
		return pages.StepUpMissing
	case "step_up_" + stepup.ReasonExpired, "step_up_" + stepup.ReasonHeldMissing:
		return pages.StepUpExpired
	case "step_up_" + stepup.ReasonReplayed:
		return pages.StepUpUsed
	case "step_up_" + stepup.ReasonIPMismatch, "step_up_" + stepup.ReasonAgentMismatch:
		return pages.StepUpMoved
	case "step_up_" + stepup.ReasonReplayFull, "step_up_internal_error":
		return pages.StepUpUnavailable
	}
	return pages.StepUpFailed
}

// passkeyCode is what a person is told about a passkey refusal.
func passkeyCode(err error) pages.Code {
	switch passkeys.ReasonOf(err) {
	case passkeys.ReasonEnrolNoProof, passkeys.ReasonEnrolNotAccepted:
		return pages.EnrolSignIn
	case passkeys.ReasonEnrolStaleSession:
		return pages.EnrolSignInAgain
	case passkeys.ReasonEnrolDuringChallenge, passkeys.ReasonEnrolChallengedLogin:
		return pages.EnrolNotAllowed
	case passkeys.ReasonEnrolTokenSpent:
		return pages.EnrolLinkUsed
	case passkeys.ReasonEnrolTokenInvalid:
		return pages.EnrolLinkInvalid
	case passkeys.ReasonEnrolUserConflict:
		return pages.EnrolOtherAccount
	case passkeys.ReasonTooManyCredentials:
		return pages.EnrolLimit
	case passkeys.ReasonNoCredentials:
		return pages.NoFactor
	case passkeys.ReasonBodyTooLarge:
		return pages.TooLarge
	case "":
		return pages.Internal
	}
	return pages.StepUpFailed
}

// unmarshalErrorPages reads `error_pages guard|handle_errors`.
func (h *Handler) unmarshalErrorPages(d *caddyfile.Dispenser) error {
	if err := oneArg(d, &h.ErrorPages); err != nil {
		return err
	}
	return oneOf(d, h.ErrorPages, ErrorPagesGuard, ErrorPagesHandleErrors)
}
