package rules

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/login-guard/login_guard/rules/counter"
)

// deferringStore is a memory store that defers settlements as a shared
// store does: it keeps them until the test sends them (send), or refuses
// to take them when full is set.
type deferringStore struct {
	*counter.Memory
	mu      sync.Mutex
	full    bool
	pending []deferredOps
	fail    error // send fails every op with it
}

type deferredOps struct {
	ops  []counter.Op
	done counter.Settled
}

func (s *deferringStore) Defer(ops []counter.Op, done counter.Settled) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return false
	}
	s.pending = append(s.pending, deferredOps{ops, done})
	return true
}

// send runs what was deferred, as the store's sender would.
func (s *deferringStore) send() int {
	s.mu.Lock()
	p := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, d := range p {
		if s.fail != nil {
			for i := range d.ops {
				if d.ops[i].Kind != 0 {
					d.ops[i].Err = s.fail
				}
			}
		} else {
			s.Batch(context.Background(), d.ops)
		}
		d.done.Settled(d.ops)
	}
	clear(p)
	s.mu.Lock()
	if s.pending == nil {
		s.pending = p[:0] // kept, so the fake allocates nothing per send
	}
	s.mu.Unlock()
	return len(p)
}

func deferringPolicy(t *testing.T, onError func(string, error), line ...string) (*Policy, *deferringStore) {
	t.Helper()
	m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: 1000, Clock: newFakeClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	s := &deferringStore{Memory: m}
	p, err := NewPolicy(PolicyConfig{Scope: "login", Store: s, OnError: onError,
		Rules: mustRules(t, append([]string{"lockout"}, line...))})
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

// A store that defers settlements gets them from Observe, which returns
// without them having run; until they run the attempts' slots count, so
// the lockout holds exactly, and once they run the failures lock.
func TestObserveDefersSettlement(t *testing.T) {
	p, s := deferringPolicy(t, nil, "user", "3/10m", "for", "15m")
	for i := range 3 {
		if v := login(t, p, "jlopez", "192.0.2.1", OutcomeFailure); v.Action != Allow {
			t.Fatalf("failure %d refused before any settlement ran: %v", i, v.Reasons)
		}
	}
	// Three slots are held, unsettled: a fourth attempt is refused.
	if v, tk := p.Evaluate(bg, attempt("jlopez", "192.0.2.1"), nil); v.Action != Deny {
		t.Fatalf("a fourth attempt passed while three were unsettled: %v", v.Action)
	} else if err := p.Observe(bg, tk, OutcomeUnknown); err != nil {
		t.Fatal(err)
	}
	if n := s.send(); n != 3 {
		t.Fatalf("%d settlements deferred, want 3 (the refused attempt held no slot)", n)
	}
	v, _ := p.Evaluate(bg, attempt("jlopez", "192.0.2.1"), nil)
	if v.Action != Deny || !sameStrings(v.Reasons, []string{"lockout_user"}) {
		t.Fatalf("after the settlements ran: %v %v, want locked", v.Action, v.Reasons)
	}
}

// A store that takes no more settlements has them run at once.
func TestObserveSettlesItselfWhenTheStoreRefuses(t *testing.T) {
	p, s := deferringPolicy(t, nil, "user", "2/10m", "for", "15m")
	s.full = true
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	if n := s.send(); n != 0 {
		t.Fatalf("%d settlements deferred by a store that refused them", n)
	}
	if v, _ := p.Evaluate(bg, attempt("u", "192.0.2.1"), nil); v.Action != Deny {
		t.Fatal("failures settled at once did not lock")
	}
}

// A deferred settlement that fails is reported as Observe's own failure
// would be: under its rule, and as the observe step.
func TestDeferredSettlementErrorsReported(t *testing.T) {
	var mu sync.Mutex
	var got []string
	onError := func(rule string, err error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, rule+": "+err.Error())
	}
	p, s := deferringPolicy(t, onError, "ip_user", "5/10m", "for", "15m")
	s.fail = errors.New("store down")
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	if len(got) != 0 {
		t.Fatalf("reported before the settlement ran: %q", got)
	}
	s.send()
	want := []string{"lockout ip_user 5/10m for 15m deny: store down", "observe: store down"}
	if !sameStrings(got, want) {
		t.Fatalf("reported %q, want %q", got, want)
	}

	// A release (the attempt never reached the upstream) is reported
	// under its rule only, as before.
	got = nil
	_, tk := p.Evaluate(bg, attempt("v", "192.0.2.2"), nil)
	if err := p.Observe(bg, tk, OutcomeUnknown); err != nil {
		t.Fatal(err)
	}
	s.send()
	if len(got) != 1 || !strings.HasPrefix(got[0], "lockout ip_user") {
		t.Fatalf("release reported %q", got)
	}
}

// plainStore is the memory store behind the interface, without Defer:
// settlements run at once, through the same path as a shared store's.
type plainStore struct{ *counter.Memory }

// Handing a settlement over costs one allocation (its copy of the ops and
// rules, for the usual one or two lockouts) beyond settling it at once.
func TestDeferredSettlementAllocations(t *testing.T) {
	line := mustRules(t, []string{"lockout", "ip_user", "10/10m", "for", "15m"})
	a := attempt("u", "192.0.2.1")
	allocs := func(store counter.Store, sent func()) float64 {
		p, err := NewPolicy(PolicyConfig{Scope: "login", Store: store, Rules: line})
		if err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(200, func() {
			_, tk := p.Evaluate(bg, a, nil)
			if err := p.Observe(bg, tk, OutcomeSuccess); err != nil {
				t.Fatal(err)
			}
			sent()
		})
	}
	memory := func() *counter.Memory {
		m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: 1000, Clock: newFakeClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	now := allocs(plainStore{memory()}, func() {})
	d := &deferringStore{Memory: memory()}
	deferred := allocs(d, func() {
		if d.send() != 1 {
			t.Fatal("nothing deferred")
		}
	})
	if deferred > now+1 {
		t.Fatalf("a deferred settlement allocates %.0f times, one settled at once %.0f", deferred, now)
	}
}
