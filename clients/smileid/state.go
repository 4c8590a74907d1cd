package smileid

// State is where a step-up job stands, as the polling page sees it.
type State string

const (
	// StateUnknown: never registered here, expired, or already consumed by
	// Complete. The page should restart the step-up.
	StateUnknown State = "unknown"
	// StatePending: submitted, waiting for Smile ID (machine processing or
	// human review). The page keeps polling.
	StatePending State = "pending"
	// StateAuthenticated: a job-status call confirmed an authenticated
	// result. Complete hands it out once.
	StateAuthenticated State = "authenticated"
	// StateRejected: a job-status call confirmed a result that is not an
	// authentication (including codes this package does not know).
	StateRejected State = "rejected"
)

// terminal reports whether no later event may change the state.
func (s State) terminal() bool {
	return s == StateAuthenticated || s == StateRejected
}

// Result is what HandleCallback and Confirm report about one job.
type Result struct {
	JobID       string
	UserID      string
	StateHandle string
	// State is the registry's state after the call.
	State State
	// ResultCode, ResultText and SmileJobID come from the last confirmed
	// job-status answer (empty while nothing was confirmed).
	ResultCode string
	ResultText string
	SmileJobID string
	// Changed is true when this call moved the job out of pending.
	Changed bool
	// Duplicate is true when the callback was byte-identical to one already
	// processed: nothing was done.
	Duplicate bool
}
