package sandbox

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/engine/enginetest"
	"github.com/login-guard/login_guard/rules"
)

var (
	t0      = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	otherIP = netip.MustParseAddr("203.0.113.9")
)

// noWait stands in for the slow behaviour's timer: the delay "passes" at
// once.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func TestDecideTable(t *testing.T) {
	e := New(Config{Wait: noWait})
	tests := []struct {
		name     string
		user     string
		ip       netip.Addr
		action   rules.Action
		reasons  []string
		score    float64
		wantErr  error
		behavior Behavior
	}{
		{"allow user", UserAllow, otherIP, rules.Allow, nil, ScoreAllow, nil, BehaviorAllow},
		{"challenge user", UserChallenge, otherIP, rules.Challenge, []string{rules.ReasonEngineChallenge}, ScoreChallenge, nil, BehaviorChallenge},
		{"deny user", UserDeny, otherIP, rules.Deny, []string{rules.ReasonEngineDecline}, ScoreDeny, nil, BehaviorDeny},
		{"slow user after delay", UserSlow, otherIP, rules.Allow, nil, ScoreDefault, nil, BehaviorSlow},
		{"error user", UserError, otherIP, 0, nil, 0, ErrSandbox, BehaviorError},
		{"allow IP", "alice", IPAllow, rules.Allow, nil, ScoreAllow, nil, BehaviorAllow},
		{"challenge IP", "alice", IPChallenge, rules.Challenge, []string{rules.ReasonEngineChallenge}, ScoreChallenge, nil, BehaviorChallenge},
		{"deny IP", "alice", IPDeny, rules.Deny, []string{rules.ReasonEngineDecline}, ScoreDeny, nil, BehaviorDeny},
		{"deny IP, IPv4-mapped", "alice", netip.AddrFrom16(IPDeny.As16()), rules.Deny, []string{rules.ReasonEngineDecline}, ScoreDeny, nil, BehaviorDeny},
		{"error IP", "alice", IPError, 0, nil, 0, ErrSandbox, BehaviorError},
		{"user wins over IP", UserAllow, IPDeny, rules.Allow, nil, ScoreAllow, nil, BehaviorAllow},
		{"everyone else", "alice", otherIP, rules.Allow, nil, ScoreDefault, nil, BehaviorAllow},
		{"user match is exact", "Sandbox-Deny", otherIP, rules.Allow, nil, ScoreDefault, nil, BehaviorAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, _ := Lookup(tt.user, tt.ip); b != tt.behavior {
				t.Errorf("Lookup = %s, want %s", b, tt.behavior)
			}
			a := &rules.Attempt{Route: "login", User: tt.user, IP: tt.ip, Time: t0}
			v, err := e.Decide(context.Background(), a)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.action || !reflect.DeepEqual(v.Reasons, tt.reasons) || v.Score != tt.score || !v.HasScore {
				t.Fatalf("verdict = %+v, want %s %v score %v", v, tt.action, tt.reasons, tt.score)
			}
			if len(v.Correlations) != 1 || v.Correlations[0].Engine != DefaultName || v.Correlations[0].ID != CorrelationID(a) {
				t.Fatalf("correlations = %+v", v.Correlations)
			}
		})
	}
}

func TestSlowHonoursContext(t *testing.T) {
	e := New(Config{SlowDelay: time.Hour}) // the real timer: only the context can end it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := e.Decide(ctx, &rules.Attempt{User: UserSlow})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSlowUsesConfiguredDelay(t *testing.T) {
	var got time.Duration
	e := New(Config{SlowDelay: 3 * time.Second, Wait: func(_ context.Context, d time.Duration) error { got = d; return nil }})
	if _, err := e.Decide(context.Background(), &rules.Attempt{IP: IPSlow}); err != nil {
		t.Fatal(err)
	}
	if got != 3*time.Second {
		t.Fatalf("waited %v, want 3s", got)
	}
	New(Config{Wait: func(_ context.Context, d time.Duration) error { got = d; return nil }}).
		Decide(context.Background(), &rules.Attempt{User: UserSlow})
	if got != DefaultSlowDelay {
		t.Fatalf("default wait %v, want %v", got, DefaultSlowDelay)
	}
}

func TestSlowTimesOutUnderRun(t *testing.T) {
	base := runtime.NumGoroutine()
	var r engine.Runner
	res := r.Run(context.Background(), []rules.Engine{New(Config{Name: "sbx", SlowDelay: time.Hour})},
		&rules.Attempt{User: UserSlow}, 10*time.Millisecond)
	if res[0].Failure == nil || res[0].Failure.Kind != engine.KindTimeout || res[0].Engine != "sbx" {
		t.Fatalf("result = %+v, want timeout", res[0])
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckGoroutines(t, base)
}

func TestErrorIsAnEngineFailure(t *testing.T) {
	res := engine.Run(context.Background(), []rules.Engine{New(Config{})}, &rules.Attempt{User: UserError}, time.Minute)
	if f := res[0].Failure; f == nil || f.Kind != engine.KindError || !f.Counts() {
		t.Fatalf("failure = %+v, want a counting error", f)
	}
}

func TestCorrelationID(t *testing.T) {
	a := &rules.Attempt{Route: "login", User: "alice", IP: otherIP, Time: t0}
	id := CorrelationID(a)
	if len(id) != 20 || !strings.HasPrefix(id, "sbx-") {
		t.Fatalf("id = %q", id)
	}
	b := *a
	if CorrelationID(&b) != id {
		t.Fatal("same attempt, different id")
	}
	b.Time = t0.Add(time.Nanosecond)
	if CorrelationID(&b) == id {
		t.Fatal("different time, same id")
	}
	// Field boundaries are kept: ("ab","c") and ("a","bc") differ.
	x := CorrelationID(&rules.Attempt{Route: "ab", User: "c"})
	y := CorrelationID(&rules.Attempt{Route: "a", User: "bc"})
	if x == y {
		t.Fatal("route/user boundary lost")
	}
}

func TestTableIsACopy(t *testing.T) {
	tb := Table()
	if len(tb) != 5 {
		t.Fatalf("%d rows", len(tb))
	}
	seen := map[Behavior]bool{}
	for _, tc := range tb {
		seen[tc.Behavior] = true
		if b, ok := Lookup(tc.User, otherIP); !ok || b != tc.Behavior {
			t.Errorf("user %s: %s", tc.User, b)
		}
		if b, ok := Lookup("nobody", tc.IP); !ok || b != tc.Behavior {
			t.Errorf("ip %s: %s", tc.IP, b)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("behaviours %v", seen)
	}
	tb[0].User = "changed"
	if Table()[0].User != UserAllow {
		t.Fatal("Table exposes the package's data")
	}
}

func TestDoneContextFailsFast(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Config{}).Decide(ctx, &rules.Attempt{User: "alice"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkDecide(b *testing.B) {
	e := New(Config{})
	a := &rules.Attempt{Route: "login", User: "alice", IP: otherIP, Time: t0}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}
