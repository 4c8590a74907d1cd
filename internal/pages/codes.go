package pages

import "net/http"

// Code is an answer's stable identifier: the "error" of the JSON answer,
// the .Code of the page template and the {http.login_guard.code}
// placeholder. Codes say what the person can do next, never why the
// guard decided (no rule, engine or score).
type Code string

// The codes. docs/pages.md lists them for operators and API clients.
const (
	// Denied: the request is refused (deny rules, deny_ip, an engine's
	// deny, a lockout: all alike).
	Denied Code = "denied"
	// RateLimited: too many attempts; Retry-After says when to retry.
	RateLimited Code = "rate_limited"
	// StepUpRequired: the request needs a step-up. With a step-up page the
	// JSON answer carries its URL and state; without one the person is told
	// the check cannot be done here.
	StepUpRequired Code = "step_up_required"
	// StepUpUnavailable: the step-up could not be started (the guard's own
	// storage or keys failed); trying again later may work.
	StepUpUnavailable Code = "step_up_unavailable"
	// StepUpMissing: no sign-in is waiting for confirmation in this browser.
	StepUpMissing Code = "step_up_missing"
	// StepUpExpired: the confirmation took too long.
	StepUpExpired Code = "step_up_expired"
	// StepUpUsed: this confirmation was already finished or spent.
	StepUpUsed Code = "step_up_used"
	// StepUpMoved: the confirmation was continued from another network or
	// browser than the sign-in.
	StepUpMoved Code = "step_up_moved"
	// StepUpFailed: the factor did not confirm the person.
	StepUpFailed Code = "step_up_failed"
	// NoFactor: the account has no usable way to confirm a sign-in yet.
	NoFactor Code = "no_factor"
	// EnrolSignIn: registering a passkey needs a sign-in or a link first.
	EnrolSignIn Code = "enrol_sign_in"
	// EnrolSignInAgain: the sign-in is too old to register a passkey.
	EnrolSignInAgain Code = "enrol_sign_in_again"
	// EnrolNotAllowed: the current sign-in cannot register a passkey
	// (it needed a step-up, or is still in one).
	EnrolNotAllowed Code = "enrol_not_allowed"
	// EnrolNeedsLink: an admin removed the account's last way to confirm
	// a sign-in (its passkeys, or its LoginID record when it had no
	// passkey), or its only one is a LoginID credential the guard cannot
	// ask to confirm, so only an enrolment link registers a new one.
	EnrolNeedsLink Code = "enrol_needs_link"
	// EnrolConfirm: the account already has a passkey; one of them must
	// confirm adding another.
	EnrolConfirm Code = "enrol_confirm"
	// EnrolLinkUsed: the enrolment link was already used.
	EnrolLinkUsed Code = "enrol_link_used"
	// EnrolLinkInvalid: the enrolment link is expired or not valid.
	EnrolLinkInvalid Code = "enrol_link_invalid"
	// EnrolOtherAccount: the link and the sign-in name different accounts.
	EnrolOtherAccount Code = "enrol_other_account"
	// EnrolLimit: the account already has as many passkeys as allowed.
	EnrolLimit Code = "enrol_limit"
	// EnrolLoginIDRegistered: the account already has a LoginID sign-in
	// the guard knows of (`loginid { require_enrolment }`); only the
	// operator can remove it to register anew.
	EnrolLoginIDRegistered Code = "enrol_loginid_registered"
	// Enrolled: a passkey was registered (a confirmation, status 200).
	Enrolled Code = "enrolled"
	// EnrolledLoginID: a LoginID sign-in was registered (a confirmation,
	// status 200).
	EnrolledLoginID Code = "enrolled_loginid"
	// BadRequest, TooLarge, UnsupportedMedia: the request could not be
	// read.
	BadRequest       Code = "bad_request"
	TooLarge         Code = "too_large"
	UnsupportedMedia Code = "unsupported_media_type"
	// NotFound and MethodNotAllowed: no such step-up endpoint or method.
	NotFound         Code = "not_found"
	MethodNotAllowed Code = "method_not_allowed"
	// Unavailable: a service the answer depends on failed; retry later.
	Unavailable Code = "unavailable"
	// Internal: the guard failed (the cause is in its log only).
	Internal Code = "internal_error"
)

// next is the link an answer offers.
type next int

const (
	nextNone   next = iota
	nextSignIn      // back to the portal's sign-in (Options.SignInURL)
	nextHelp        // the operator's help page, when configured
	nextPortal      // onwards to the portal (Answer.Next or the sign-in URL)
)

// entry is an answer's defaults: status, heading and message, in words a
// person understands.
type entry struct {
	status int
	title  string
	msg    string
	next   next
	// helpMsg replaces msg when the operator configured a help URL.
	helpMsg string
}

var catalogue = map[Code]entry{
	Denied: {http.StatusForbidden, "Sign-in not possible",
		"We couldn't complete this request. If you think this is a mistake, please contact the site's support team.", nextSignIn, ""},
	RateLimited: {http.StatusTooManyRequests, "Too many attempts",
		"There have been too many attempts in a short time, so we've paused them for a while to protect the account.", nextSignIn, ""},
	StepUpRequired: {http.StatusUnauthorized, "Extra check needed",
		"For your security, this request needs an extra check that can't be completed here. Please try again later, or contact the site's support team if this keeps happening.", nextSignIn, ""},
	StepUpUnavailable: {http.StatusServiceUnavailable, "Confirmation unavailable",
		"The confirmation step isn't available right now. Please try again in a few minutes.", nextSignIn, ""},
	StepUpMissing: {http.StatusForbidden, "Nothing to confirm",
		"There's no sign-in waiting to be confirmed in this browser. Please sign in first; if a confirmation is needed, you'll be brought here.", nextSignIn, ""},
	StepUpExpired: {http.StatusForbidden, "This confirmation has expired",
		"For your security, a sign-in must be confirmed within a few minutes. Please sign in again.", nextSignIn, ""},
	StepUpUsed: {http.StatusForbidden, "Already confirmed",
		"This sign-in was already confirmed or cancelled, so it can't be confirmed again. If you're not signed in yet, please sign in again.", nextSignIn, ""},
	StepUpMoved: {http.StatusForbidden, "Please sign in again",
		"The confirmation must be finished in the same browser, on the same network, as the sign-in it belongs to. Please sign in again here.", nextSignIn, ""},
	StepUpFailed: {http.StatusForbidden, "We couldn't confirm it's you",
		"The confirmation didn't succeed, so the sign-in was not completed. Please sign in again and retry.", nextSignIn, ""},
	NoFactor: {http.StatusForbidden, "Set up a passkey to continue",
		"This sign-in needs an extra check, but your account has no passkey or other confirmation method set up yet. Please contact the site's support team and ask for a passkey enrolment link; once you have registered a passkey, sign in again.",
		nextHelp,
		"This sign-in needs an extra check, but your account has no passkey or other confirmation method set up yet. Follow the link below to find out how to set one up, then sign in again."},
	EnrolSignIn: {http.StatusForbidden, "Sign in to register a passkey",
		"To register a passkey, sign in to your account first and then come back to this page — or open the enrolment link you were sent.", nextSignIn, ""},
	EnrolSignInAgain: {http.StatusForbidden, "Please sign in again",
		"A passkey can only be registered shortly after signing in. Please sign in again, then come back to this page.", nextSignIn, ""},
	EnrolNotAllowed: {http.StatusForbidden, "A passkey can't be added from this sign-in",
		"For your security, a sign-in that needed an extra check (or is still waiting for one) can't be used to register a passkey. Please use an enrolment link from the site's support team.", nextHelp,
		"For your security, a sign-in that needed an extra check (or is still waiting for one) can't be used to register a passkey. Follow the link below to get an enrolment link."},
	EnrolNeedsLink: {http.StatusForbidden, "An enrolment link is needed",
		"For your security, a new passkey or other way to confirm a sign-in can be added to this account only with an enrolment link. Please ask the site's support team for one.", nextHelp,
		"For your security, a new passkey or other way to confirm a sign-in can be added to this account only with an enrolment link. Follow the link below to get one."},
	EnrolConfirm: {http.StatusForbidden, "Confirm with your passkey first",
		"This account already has a passkey. To add another, confirm with one you already have. If you no longer have it, ask the site's support team for an enrolment link.", nextHelp,
		"This account already has a passkey. To add another, confirm with one you already have. If you no longer have it, follow the link below to ask for an enrolment link."},
	EnrolLinkUsed: {http.StatusForbidden, "This link was already used",
		"Each enrolment link works only once. If you registered your passkey with it, you're all set and can sign in. If you didn't, contact the site's support team right away.", nextSignIn, ""},
	EnrolLinkInvalid: {http.StatusForbidden, "This link is not valid",
		"This enrolment link has expired or is not complete. Please ask the site's support team for a new one.", nextHelp,
		"This enrolment link has expired or is not complete. Follow the link below to ask for a new one."},
	EnrolOtherAccount: {http.StatusForbidden, "Signed in as someone else",
		"This enrolment link belongs to a different account than the one signed in in this browser. Sign out, then open the link again.", nextNone, ""},
	EnrolLimit: {http.StatusForbidden, "No more passkeys can be added",
		"Your account already has as many passkeys as it may have. Remove one you no longer use, or contact the site's support team.", nextHelp, ""},
	EnrolLoginIDRegistered: {http.StatusForbidden, "LoginID is already set up",
		"Your account already has a LoginID sign-in registered, so another can't be added. If you can no longer use it, contact the site's support team.", nextHelp,
		"Your account already has a LoginID sign-in registered, so another can't be added. If you can no longer use it, follow the link below to get help."},
	Enrolled: {http.StatusOK, "Passkey registered",
		"Your passkey is ready. The next time a sign-in needs an extra check, confirm it with this passkey.", nextPortal, ""},
	EnrolledLoginID: {http.StatusOK, "LoginID sign-in registered",
		"Your LoginID sign-in is ready. The next time a sign-in needs an extra check, confirm it with LoginID.", nextPortal, ""},
	BadRequest: {http.StatusBadRequest, "Something went wrong",
		"The request couldn't be read. Please go back, reload the page and try again.", nextSignIn, ""},
	TooLarge: {http.StatusRequestEntityTooLarge, "Something went wrong",
		"The request was larger than this site accepts. Please go back, reload the page and try again.", nextSignIn, ""},
	UnsupportedMedia: {http.StatusUnsupportedMediaType, "Something went wrong",
		"The request was sent in a form this site doesn't accept. Please go back, reload the page and try again.", nextSignIn, ""},
	NotFound: {http.StatusNotFound, "Page not found",
		"There's nothing at this address.", nextSignIn, ""},
	MethodNotAllowed: {http.StatusMethodNotAllowed, "Something went wrong",
		"This page can't be used that way. Please go back and try again.", nextSignIn, ""},
	Unavailable: {http.StatusServiceUnavailable, "Temporarily unavailable",
		"A service this step depends on isn't answering right now. Please try again in a few minutes.", nextSignIn, ""},
	Internal: {http.StatusInternalServerError, "Something went wrong",
		"Something went wrong on our side. Please try again in a few minutes.", nextSignIn, ""},
}

// Codes lists every code, in a fixed order.
func Codes() []Code {
	return []Code{Denied, RateLimited, StepUpRequired, StepUpUnavailable, StepUpMissing, StepUpExpired, StepUpUsed,
		StepUpMoved, StepUpFailed, NoFactor, EnrolSignIn, EnrolSignInAgain, EnrolNotAllowed, EnrolNeedsLink, EnrolLinkUsed,
		EnrolLinkInvalid, EnrolOtherAccount, EnrolLimit, EnrolLoginIDRegistered, Enrolled, EnrolledLoginID, BadRequest, TooLarge, UnsupportedMedia,
		NotFound, MethodNotAllowed, Unavailable, Internal}
}

// Status is the code's default HTTP status.
func (c Code) Status() int {
	if e, ok := catalogue[c]; ok {
		return e.status
	}
	return http.StatusInternalServerError
}
