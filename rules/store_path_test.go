package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// singleStore hides the memory store's batching: operations go one call
// at a time, as to a store that cannot batch.
type singleStore struct{ counter.Store }

// otherBatcher batches, but is not the in-process store: the policy hands
// it a pooled copy of the batch.
type otherBatcher struct {
	*counter.Memory
	batches int
}

func (b *otherBatcher) Batch(ctx context.Context, ops []counter.Op) {
	b.batches++
	b.Memory.Batch(ctx, ops)
}

// TestPolicyStorePaths: the same attempts give the same verdicts and
// counts whether the policy calls the memory store directly, through a
// batching store of another type, or one operation at a time.
func TestPolicyStorePaths(t *testing.T) {
	lines := [][]string{
		{"rate", "ip", "4/1m"},
		{"spray", "ip", "3/10m", "challenge"},
		{"lockout", "ip_user", "2/10m", "for", "15m"},
		{"lockout", "user", "5/10m", "for", "15m", "challenge"},
		{"when", `counters["rate_ip"] >= 3`, "challenge", "busy"},
	}
	run := func(wrap func(*counter.Memory) counter.Store) []string {
		c := newFakeClock()
		m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: 100, Clock: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPolicy(PolicyConfig{Scope: "login", Store: wrap(m), Rules: mustRules(t, lines...)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		users := []string{"ana", "ana", "bob", "ana", "cid", "dan", "ana", "bob", "ana"}
		outcomes := []Outcome{OutcomeFailure, OutcomeFailure, OutcomeSuccess, OutcomeFailure, OutcomeUnknown, OutcomeFailure, OutcomeSuccess, OutcomeFailure, OutcomeFailure}
		for round := 0; round < 2; round++ {
			for i, u := range users {
				v, tk := p.Evaluate(bg, attempt(u, "203.0.113.7"), nil)
				o := outcomes[i]
				if v.Action != Allow {
					o = OutcomeUnknown
				}
				err := p.Observe(bg, tk, o)
				out = append(out, fmt.Sprintf("%s %v %v %v %v", u, v.Action, v.Reasons, v.RetryAfter, err))
				c.Advance(7 * time.Second)
			}
			c.Advance(time.Minute)
		}
		entries, _ := m.List(bg, counter.Filter{}, 0)
		for _, e := range entries {
			out = append(out, fmt.Sprintf("%s %s %d %v", e.Key.Rule, e.Key.Subject, e.Count, e.Limited))
		}
		return out
	}
	direct := run(func(m *counter.Memory) counter.Store { return m })
	ob := &otherBatcher{}
	batched := run(func(m *counter.Memory) counter.Store { ob.Memory = m; return ob })
	single := run(func(m *counter.Memory) counter.Store { return singleStore{m} })
	if ob.batches == 0 {
		t.Fatal("the other batching store was never asked")
	}
	sawDeny, sawLock := false, false
	for i := range direct {
		if direct[i] != batched[i] || direct[i] != single[i] {
			t.Errorf("line %d: direct %q, other batcher %q, single calls %q", i, direct[i], batched[i], single[i])
		}
		sawDeny = sawDeny || strings.Contains(direct[i], "deny [rate_ip")
		sawLock = sawLock || strings.Contains(direct[i], "lockout_ip_user]")
	}
	if len(direct) != len(batched) || len(direct) != len(single) {
		t.Fatalf("%d, %d, %d lines", len(direct), len(batched), len(single))
	}
	if !sawDeny || !sawLock {
		t.Fatalf("the scenario never hit the rate limit (%v) or a lockout (%v):\n%v", sawDeny, sawLock, direct)
	}
}
