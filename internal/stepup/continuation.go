package stepup

import "errors"

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
func (is *Issuer) ConsumeContinuation(token string, b Binding) (State, error) {
	st, err := is.open(PurposeContinue, token, b, true, false)
	if err != nil {
		return State{}, err
	}
	if err := is.spend(PurposeContinue, st.Handle, MaxContinueTTL); err != nil {
		return State{}, err
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
// let another user's login through.
func (is *Issuer) ConsumePass(token string, b Binding) (State, error) {
	st, err := is.open(PurposePass, token, b, true, true)
	if err != nil {
		return State{}, err
	}
	if err := is.spend(PurposePass, st.Handle, is.cfg.PassTTL); err != nil {
		return State{}, err
	}
	return st, nil
}
