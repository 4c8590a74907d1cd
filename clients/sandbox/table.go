package sandbox

import "net/netip"

// Behavior is what the sandbox does for an attempt.
type Behavior string

const (
	BehaviorAllow     Behavior = "allow"
	BehaviorChallenge Behavior = "challenge"
	BehaviorDeny      Behavior = "deny"
	BehaviorSlow      Behavior = "slow"
	BehaviorError     Behavior = "error"
)

// Test users.
const (
	UserAllow     = "sandbox-allow"
	UserChallenge = "sandbox-challenge"
	UserDeny      = "sandbox-deny"
	UserSlow      = "sandbox-slow"
	UserError     = "sandbox-error"
)

// Test IPs (TEST-NET-1, RFC 5737).
var (
	IPAllow     = netip.MustParseAddr("192.0.2.1")
	IPChallenge = netip.MustParseAddr("192.0.2.2")
	IPDeny      = netip.MustParseAddr("192.0.2.3")
	IPSlow      = netip.MustParseAddr("192.0.2.4")
	IPError     = netip.MustParseAddr("192.0.2.5")
)

// Scores the sandbox reports, on a 0–100 scale.
const (
	ScoreAllow     = 0
	ScoreChallenge = 60
	ScoreDeny      = 95
	// ScoreDefault is the score of everyone not in the table.
	ScoreDefault = 10
)

// TestCase is one row of the sandbox's test data.
type TestCase struct {
	User     string
	IP       netip.Addr
	Behavior Behavior
}

var table = [...]TestCase{
	{UserAllow, IPAllow, BehaviorAllow},
	{UserChallenge, IPChallenge, BehaviorChallenge},
	{UserDeny, IPDeny, BehaviorDeny},
	{UserSlow, IPSlow, BehaviorSlow},
	{UserError, IPError, BehaviorError},
}

// Table returns the test data, one row per behaviour. The slice is a copy.
func Table() []TestCase {
	t := table
	return t[:]
}

// Lookup returns what the sandbox does for a user and IP: the user's row
// if the user is in the table, else the IP's row, else BehaviorAllow
// (with ScoreDefault). ok reports whether a row matched.
func Lookup(user string, ip netip.Addr) (b Behavior, ok bool) {
	for _, tc := range table {
		if tc.User == user {
			return tc.Behavior, true
		}
	}
	ip = ip.Unmap()
	for _, tc := range table {
		if tc.IP == ip {
			return tc.Behavior, true
		}
	}
	return BehaviorAllow, false
}
