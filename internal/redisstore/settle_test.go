package redisstore

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/rules/counter"
)

// Settlements that wait for room are queued in the order they came: one
// that comes once room is made, and finds it, goes after those that
// waited (a user's success must not overtake an earlier failure).
func TestSettlerQueuesInTurn(t *testing.T) {
	var st settler
	st.stopped = make(chan struct{}) // a sender runs: add starts none
	st.queued = maxDeferredOps       // and the queue is full
	op := func(subject string) []counter.Op {
		return []counter.Op{{Kind: counter.OpSettle, Key: counter.Key{Rule: "r", Subject: subject}}}
	}
	waiting := func(n uint64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			st.mu.Lock()
			turns := st.turns
			st.mu.Unlock()
			if turns == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d settlements waiting, want %d", turns, n)
			}
		}
	}
	done := make(chan bool, 2)
	go func() { done <- st.add(nil, op("first"), nil) }()
	waiting(1)
	go func() { done <- st.add(nil, op("second"), nil) }()
	waiting(2)
	// The sender makes room; a third comes at once and finds it.
	st.mu.Lock()
	st.queued = 0
	st.room.Broadcast()
	st.mu.Unlock()
	if !st.add(nil, op("third"), nil) {
		t.Fatal("refused")
	}
	for range 2 {
		if !<-done {
			t.Fatal("refused")
		}
	}
	var got []string
	for _, d := range st.queue {
		got = append(got, d.ops[0].Key.Subject)
	}
	if len(got) != 3 || got[0] != "first" || got[1] != "second" || got[2] != "third" {
		t.Fatalf("queued in the order %q", got)
	}
	// Close releases a settlement waiting for room: it is refused, and
	// the caller settles it itself.
	st.mu.Lock()
	st.queued = maxDeferredOps
	st.mu.Unlock()
	go func() { done <- st.add(nil, op("late"), nil) }()
	waiting(4)
	st.drain(0)
	if <-done {
		t.Fatal("a settlement waiting when Close began was taken")
	}
}

// settledFunc adapts a function to counter.Settled.
type settledFunc func([]counter.Op)

func (f settledFunc) Settled(ops []counter.Op) { f(ops) }

// A panic while sending settlements (in the Redis client, say) fails the
// settlements of that round trip, is logged, and the settler goes on:
// it runs on its own goroutine, where nothing would recover it.
func TestSettlementSendPanic(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	c := &Conn{logger: zap.New(core)}
	calls := 0
	c.settle.send = func(_ context.Context, ops []counter.Op) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		for i := range ops {
			ops[i].Recorded = true
		}
	}
	heard := make(chan counter.Op, 2)
	report := settledFunc(func(ops []counter.Op) { heard <- ops[0] })
	op := []counter.Op{{Kind: counter.OpSettle, Key: counter.Key{Rule: "r", Subject: "u"}}}
	if !c.settle.add(c, op, report) {
		t.Fatal("refused")
	}
	if got := <-heard; got.Err != errSettlePanic || got.Recorded {
		t.Fatalf("the settlement whose sending panicked was reported as %+v", got)
	}
	if logs.FilterMessage("sending lockout settlements panicked").Len() != 1 {
		t.Errorf("panic not logged: %v", logs.All())
	}
	again := []counter.Op{{Kind: counter.OpSettle, Key: counter.Key{Rule: "r", Subject: "u"}}}
	if !c.settle.add(c, again, report) {
		t.Fatal("refused after the panic")
	}
	if got := <-heard; got.Err != nil || !got.Recorded {
		t.Fatalf("the next settlement was reported as %+v", got)
	}
}
