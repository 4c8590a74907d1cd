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
	if ok, err := rt.Used.Mark("stepup:x", now.Add(time.Minute), now); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if !rt.Used.Seen("stepup:x", now) {
		t.Fatal("a spent token is not seen")
	}
}
