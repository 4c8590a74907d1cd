package stepup

import (
	"errors"
	"time"
)

// IssueContinuation seals the redeemed state as a one-time continuation
// for the cookie the completion sets before redirecting to st.Return. It
// carries the held Ref, so the login route can take the held entry.
func (is *Issuer) IssueContinuation(st State) (string, error) {
	if st.Phase != PhaseBefore && st.Phase != PhaseAfter {
		return "", errors.New("stepup: continuation needs a held entry; use IssuePass for resubmit")
	}
	return is.seal(PurposeContinue, st, is.cfg.Now(), is.cfg.ContinueTTL)
}

// ConsumeContinuation opens a continuation on the login route and spends
// it: it returns the state (and so the held Ref and phase) once. The route
// is always compared: a continuation for one route cannot finish another.
// check, when not nil, is asked before the continuation is spent (see
// FactorCheck).
func (is *Issuer) ConsumeContinuation(token string, b Binding, check FactorCheck) (State, error) {
	st, err := is.open(PurposeContinue, token, b, true, false)
	if err != nil {
		return State{}, err
	}
	return is.spendChecked(PurposeContinue, st, MaxContinueTTL, check)
}

// FactorCheck asks, as a continuation or a resubmit pass is spent,
// whether the factor that passed its step-up still stands (State.Passkey:
// that passkey is still enrolled and unmarked), so that removing a stolen
// passkey also stops what a step-up it passed handed out. It returns nil,
// or why not: a refusal spends the token (it never finishes), unless the
// refusal is Unspent (the same request may come again); any other error
// leaves it unspent too.
type FactorCheck func(State) error

// spendChecked asks check about st, then spends st's token unless check
// could not decide.
func (is *Issuer) spendChecked(purpose string, st State, ttl time.Duration, check FactorCheck) (State, error) {
	var refusal error
	if check != nil {
		if refusal = check(st); refusal != nil && (ReasonOf(refusal) == "" || Unspent(refusal)) {
			return State{}, refusal
		}
	}
	if err := is.spend(purpose, st.Handle, ttl); err != nil {
		return State{}, err
	}
	if refusal != nil {
		return State{}, refusal
	}
	return st, nil
}

// IssuePass seals a one-time pass for "continuation resubmit": the next
// login POST from the same user, route, IP prefix and agent skips the
// challenge once. The pass carries no held key.
func (is *Issuer) IssuePass(st State) (string, error) {
	st.Key = nil
	return is.seal(PurposePass, st, is.cfg.Now(), is.cfg.PassTTL)
}

// ConsumePass checks a pass against the new login POST and spends it. The
// user and route are always compared: a pass earned by one user does not
// let another user's login through. check, when not nil, is asked before
// the pass is spent (see FactorCheck).
func (is *Issuer) ConsumePass(token string, b Binding, check FactorCheck) (State, error) {
	st, err := is.open(PurposePass, token, b, true, true)
	if err != nil {
		return State{}, err
	}
	return is.spendChecked(PurposePass, st, is.cfg.PassTTL, check)
}
