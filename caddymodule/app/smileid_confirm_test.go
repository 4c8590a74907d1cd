package app

import (
	"fmt"
	"testing"
	"time"
)

func TestPollConfirmsPendingJobsSparingly(t *testing.T) {
	p := &PooledSmileID{}
	reg := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if p.DueForConfirm("j1", reg, reg.Add(10*time.Second)) {
		t.Fatal("a fresh job waits for its callback")
	}
	if !p.DueForConfirm("j1", reg, reg.Add(31*time.Second)) {
		t.Fatal("a job without callback for 30s is asked about")
	}
	if p.DueForConfirm("j1", reg, reg.Add(40*time.Second)) {
		t.Fatal("not again within confirmEvery")
	}
	if !p.DueForConfirm("j1", reg, reg.Add(62*time.Second)) {
		t.Fatal("again after confirmEvery")
	}
	p.ForgetConfirm("j1")
	if len(p.lastConfirm) != 0 {
		t.Fatal("a finished job's entry goes")
	}
	// Bounded: stale entries are dropped to make room; fresh ones are not.
	now := reg.Add(2 * time.Hour)
	for i := range maxConfirmEntries {
		p.lastConfirm[fmt.Sprint("old", i)] = reg
	}
	if !p.DueForConfirm("new", reg, now) || len(p.lastConfirm) != 1 {
		t.Fatalf("stale entries must make room: %d", len(p.lastConfirm))
	}
	for i := range maxConfirmEntries - 1 {
		p.lastConfirm[fmt.Sprint("fresh", i)] = now
	}
	if p.DueForConfirm("another", reg, now) {
		t.Fatal("a full table of live entries refuses new ones")
	}
}
