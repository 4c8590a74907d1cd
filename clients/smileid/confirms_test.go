package smileid

import (
	"fmt"
	"testing"
	"time"
)

func TestConfirmsAskSparingly(t *testing.T) {
	var c Confirms
	reg := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if c.Due("j1", reg, reg.Add(10*time.Second)) {
		t.Fatal("a fresh job waits for its callback")
	}
	if !c.Due("j1", reg, reg.Add(31*time.Second)) {
		t.Fatal("a job without callback for 30s is asked about")
	}
	if c.Due("j1", reg, reg.Add(40*time.Second)) {
		t.Fatal("not again within ConfirmEvery")
	}
	if !c.Due("j1", reg, reg.Add(62*time.Second)) {
		t.Fatal("again after ConfirmEvery")
	}
	c.Forget("j1")
	if len(c.last) != 0 {
		t.Fatal("a finished job's entry goes")
	}
	// Bounded: stale entries are dropped to make room; fresh ones are not.
	now := reg.Add(2 * time.Hour)
	for i := range maxConfirmEntries {
		c.last[fmt.Sprint("old", i)] = reg
	}
	if !c.Due("new", reg, now) || len(c.last) != 1 {
		t.Fatalf("stale entries must make room: %d", len(c.last))
	}
	for i := range maxConfirmEntries - 1 {
		c.last[fmt.Sprint("fresh", i)] = now
	}
	if c.Due("another", reg, now) {
		t.Fatal("a full table of live entries refuses new ones")
	}
}
