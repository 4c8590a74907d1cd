package login

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/rules"
)

// lateEngine answers only after its deadline passed and the request that
// asked it has finished, then reports what the attempt it was given says.
type lateEngine struct {
	finished <-chan struct{}
	seen     chan rules.Attempt
}

func (lateEngine) Name() string { return "late" }

func (e lateEngine) Decide(ctx context.Context, a *rules.Attempt) (rules.Verdict, error) {
	<-ctx.Done()
	<-e.finished
	seen := *a
	seen.Header = a.Header.Clone()
	e.seen <- seen
	return rules.Verdict{}, ctx.Err()
}

// TestLateEngineKeepsItsAttempt: an engine still running after its
// deadline reads the attempt as it was asked about, not the request's
// later writes (the upstream's outcome, the headers added for it), which
// would otherwise be a data race between the engine's goroutine and the
// request.
func TestLateEngineKeepsItsAttempt(t *testing.T) {
	h := testHandler(t, &Handler{Name: "login", Event: EventLogin})
	finished := make(chan struct{})
	e := lateEngine{finished: finished, seen: make(chan rules.Attempt, 1)}
	h.EngineOptions.engines = []rules.Engine{e}
	h.EngineOptions.Deadline = caddy.Duration(10 * time.Millisecond)
	r := newRequest(http.MethodPost, "/api/login", formType, benchForm)
	upstream := func(w http.ResponseWriter, r *http.Request) error {
		r.Header.Set("X-Added-Later", "1")
		return upstreamOK.ServeHTTP(w, r)
	}
	w := newBenchWriter()
	if err := h.ServeHTTP(w, r, caddyhttp.HandlerFunc(upstream)); err != nil || w.code != http.StatusSeeOther {
		t.Fatal(err, w.code)
	}
	close(finished)
	seen := <-e.seen
	if seen.Outcome != rules.OutcomeUnknown {
		t.Errorf("the engine saw the outcome %v, written after it was asked", seen.Outcome)
	}
	if seen.Header.Get("X-Added-Later") != "" {
		t.Error("the engine saw a header written after it was asked")
	}
	if seen.User != "jlopez" {
		t.Errorf("the engine saw user %q", seen.User)
	}
}
