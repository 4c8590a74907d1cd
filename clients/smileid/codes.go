package smileid

// Default result-code tables; see the package documentation for where each
// code comes from and which are assumptions.
var (
	// DefaultAuthenticatedCodes: the seed shows 1220 "Authenticated".
	DefaultAuthenticatedCodes = []string{"1220"}
	// DefaultPendingCodes: the seed shows 0824 "Provisional
	// Authentication - Under Review".
	DefaultPendingCodes = []string{"0824"}
)

// codeTable classifies a confirmed ResultCode. Anything in neither set is
// rejected: an unknown code must never pass a step-up.
type codeTable struct {
	authenticated map[string]struct{}
	pending       map[string]struct{}
}

func newCodeTable(authenticated, pending []string) codeTable {
	t := codeTable{authenticated: map[string]struct{}{}, pending: map[string]struct{}{}}
	for _, c := range authenticated {
		t.authenticated[c] = struct{}{}
	}
	for _, c := range pending {
		t.pending[c] = struct{}{}
	}
	return t
}

// classify maps a completed job's code and job_success flag to a state.
// An authenticated code with job_success false is contradictory and so
// rejected.
func (t codeTable) classify(code string, success bool) State {
	if _, ok := t.pending[code]; ok {
		return StatePending
	}
	if _, ok := t.authenticated[code]; ok && success {
		return StateAuthenticated
	}
	return StateRejected
}
