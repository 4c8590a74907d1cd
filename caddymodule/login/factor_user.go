package login

import "github.com/login-guard/login_guard/rules"

// factorUser is whom a second factor on this request must belong to (a
// step-up's, or a LoginID assertion's), or why nobody can be asked: a
// reason for the audit line.
//
// A login names its user in the body, and the portal signs in that user.
// An operation acts on the portal's session, not on a user the body
// names: an attacker holding a victim's session could add
// username=<their own account> and pass the step-up with their own
// passkey. So an operation's user is the guard session's, and an
// operation without one has nobody to ask. An `event none` route (a
// password reset, a sign-up) asks the session's user when there is one,
// and otherwise the body's, which is the user such a flow acts on. A
// body user beside a session of another user is refused: the portal might
// act on either.
func (x *exchange) factorUser() (user, refusal string) {
	if x.h.Event == EventLogin {
		return x.Attempt.User, ""
	}
	if x.HasSession {
		if x.Attempt.User != "" && x.Attempt.User != x.Session.User {
			return "", reasonUserMismatch
		}
		return x.Session.User, ""
	}
	if x.h.Event == EventOperation {
		return "", reasonNoSession
	}
	return x.Attempt.User, ""
}

// The refusals factorUser gives, prefixed by what asked (step_up_,
// assertion_).
const (
	reasonUserMismatch = "user_mismatch"
	reasonNoSession    = "no_session"
)

// takeFactorUser makes factorUser's user the attempt's (the step-up state,
// the held request's share and the audit line then name the user the
// factor is asked of), or denies with its refusal, prefixed.
func (x *exchange) takeFactorUser(prefix string) bool {
	u, refusal := x.factorUser()
	if refusal != "" {
		x.Verdict.Add(rules.Deny, prefix+refusal)
		return false
	}
	x.Attempt.User = u
	return true
}

// takeSessionUser makes an operation's user the guard session's before
// anything is judged. The portal acts on its own session, so the rules
// keyed by the user, the audit line and the signed X-Login-Guard-User must
// not count a name the body chooses: with a victim's session an attacker
// would otherwise spread transfers over made-up users past a `rate user`
// limit. A body user beside a session of another user is refused
// (operation_user_mismatch): the portal might act on either. Without a
// guard session the body's user stays, as the only one the request names.
// With a session it is factorUser's answer, so both ask the same user.
func (x *exchange) takeSessionUser() {
	if x.HasSession {
		x.takeFactorUser("operation_")
	}
}
