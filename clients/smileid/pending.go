package smileid

import "crypto/sha256"

// Pending is where submitted jobs wait for their result. *Registry keeps
// them in this process; a shared implementation (Config.Pending) lets a
// job submitted through one guard instance be confirmed, polled and
// completed through any other. Implementations keep the Registry's
// contract: only a live pending job moves, a terminal state never
// changes, and Complete hands an authenticated job out exactly once.
// A shared implementation that cannot reach its store says so: every
// method with an error returns one wrapping ErrStoreUnavailable, never
// ErrUnknownJob, so a callback Smile ID sent then is answered for a retry
// rather than refused for good; Status answers unknown. Nothing moves on
// a guess.
type Pending interface {
	Register(jobID, userID, stateHandle string) error
	// Lookup returns a copy of the live entry for jobID, or ErrUnknownJob.
	Lookup(jobID string) (Entry, error)
	Status(jobID string) State
	Complete(jobID string) (Entry, error)
	Remove(jobID string)
	// Settle records a confirmed job-status outcome; see Registry.Settle.
	Settle(jobID string, st State, code, text, smileJobID string) (Entry, bool, error)
	// TakeConfirm counts one job-status call against the job's budget.
	TakeConfirm(jobID string, budget int) (Entry, error)
	// SeenCallback and MarkCallback remember the digests of the last
	// callbacks of a job, so a replayed callback is ignored.
	SeenCallback(jobID string, digest [sha256.Size]byte) (bool, error)
	MarkCallback(jobID string, digest [sha256.Size]byte)
}

var _ Pending = (*Registry)(nil)
