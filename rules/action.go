package rules

import "fmt"

// Action is what the guard does with a request. The order matters: when
// several rules or engines speak, the highest (worst) action wins.
type Action uint8

const (
	// Allow passes the request to the upstream.
	Allow Action = iota
	// Challenge sends the user to a second factor before the request passes.
	Challenge
	// Deny refuses the request; the upstream never sees it.
	Deny
)

var actionNames = [...]string{Allow: "allow", Challenge: "challenge", Deny: "deny"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// ParseAction reads the Caddyfile/JSON spelling of an action.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return Allow, fmt.Errorf("unknown action %q (want allow, challenge or deny)", s)
}

// MarshalText implements encoding.TextMarshaler so configs read "deny", not 2.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
