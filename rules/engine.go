package rules

import "context"

// Engine is a decision service the guard consults about an attempt: a
// vendor API, an in-house scoring service or the embedded sandbox.
// Implementations live in their own Caddy-free packages under clients/.
//
// Decide must honour ctx's deadline and return promptly when it is done.
// A returned error means the engine could not decide (the route's failure
// policy applies); a Verdict with Action Deny is a decision, not an error.
type Engine interface {
	// Name is the engine's configured name, used in reasons, metrics and
	// audit lines.
	Name() string
	Decide(ctx context.Context, a *Attempt) (Verdict, error)
}
