package app

import (
	"testing"
	"time"
)

// TestStandaloneSavesNoSpentTokens: an app Caddy never provisioned has no
// storage; its spent tokens are kept in memory and it serves at once.
func TestStandaloneSavesNoSpentTokens(t *testing.T) {
	a := Standalone(nil, time.Hour)
	defer a.Cleanup()
	rt, err := a.StepUpRuntime()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// A token of its own: other tests' standalone apps may share the set.
	tok := "stepup:" + now.Format(time.RFC3339Nano)
	if ok, err := rt.Used.Mark(tok, now.Add(time.Minute), now); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if seen, err := rt.Used.Seen(tok, now); !seen || err != nil {
		t.Fatal("a spent token is not seen")
	}
}
