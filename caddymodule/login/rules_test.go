package login

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/rules"
)

// upstreamFailed answers like a portal that refused the password.
var upstreamFailed = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Location", "/?failed=1")
	w.WriteHeader(http.StatusSeeOther)
	return nil
})

// upstreamDown never answers: the proxy's error.
var upstreamDown = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
	return caddyhttp.Error(http.StatusBadGateway, errors.New("dial refused"))
})

func ruleTestHandler(t *testing.T, a *app.App, h *Handler) *Handler {
	t.Helper()
	if err := h.provision(a, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	return h
}

func status(err error, w *httptest.ResponseRecorder) int {
	var he caddyhttp.HandlerError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return w.Code
}

func serveOnce(h *Handler, ip string, next caddyhttp.Handler) int {
	w := httptest.NewRecorder()
	err := h.ServeHTTP(w, rulesRequest(ip, "username=jlopez&password=x&smartid_data=abc"), next)
	return status(err, w)
}

// TestTicketSettledOnEveryPath: with a lockout of one failure, a held
// slot would refuse the next attempt for lockout_hold (a minute). Every
// way an attempt can end must give its slot back at once, and only a
// failure judged from the upstream's answer may count.
func TestTicketSettledOnEveryPath(t *testing.T) {
	h := ruleTestHandler(t, testApp(t), &Handler{
		Name: "settle", Event: EventLogin,
		Success:     &SuccessCriteria{Location: "/account"},
		RuleOptions: request.RuleOptions{Rules: []string{"lockout ip_user 1/1h for 1h deny", "when \"user_agent == \\\"bot\\\"\" deny bot"}},
	})
	ip := "198.51.100.20"
	// The upstream errors: nothing is known about the password.
	for i := range 3 {
		if st := serveOnce(h, ip, upstreamDown); st != http.StatusBadGateway {
			t.Fatalf("upstream down %d: %d", i, st)
		}
	}
	// Denied by another rule (the slot was taken, then given back).
	r := rulesRequest(ip, "username=jlopez&password=x")
	r.Header.Set("User-Agent", "bot")
	if w := httptest.NewRecorder(); status(h.ServeHTTP(w, r, upstreamOK), w) != http.StatusForbidden {
		t.Fatal("bot: not denied")
	}
	// A refused body never reaches the rules.
	bad := rulesRequest(ip, "")
	bad.Header.Set("Content-Type", "text/xml")
	bad.Body = http.NoBody
	_ = h.ServeHTTP(httptest.NewRecorder(), bad, upstreamOK)
	// Still free: this failure is the first that counts.
	if st := serveOnce(h, ip, upstreamFailed); st != http.StatusSeeOther {
		t.Fatalf("first real failure: %d", st)
	}
	if st := serveOnce(h, ip, upstreamOK); st != http.StatusForbidden {
		t.Fatalf("after one failure with limit 1: %d, want the lockout", st)
	}
	list, err := h.app.Routes().Get(h.Name)[0].Policy.List(t.Context(), rules.AdminFilter{}, 0)
	if err != nil || len(list) != 1 || !list[0].Limited {
		t.Fatalf("store holds %+v, %v", list, err)
	}
}

// TestOnFull: when the store is full of keys it may not evict, new keys
// meet on_full; the keys already limited stay limited.
func TestOnFull(t *testing.T) {
	cases := []struct {
		onFull string
		want   int
	}{
		{"", http.StatusUnauthorized}, // challenge without step_up
		{"challenge", http.StatusUnauthorized},
		{"deny", http.StatusForbidden},
		{"allow", http.StatusSeeOther},
	}
	for _, c := range cases {
		t.Run("on_full="+c.onFull, func(t *testing.T) {
			a := testApp(t)
			a.RulesStore = &app.RulesStoreConfig{MaxKeys: 1}
			h := ruleTestHandler(t, a, &Handler{
				Name: "full", Event: EventLogin,
				RuleOptions: request.RuleOptions{Rules: []string{"rate ip 1/1h deny"}, OnFull: c.onFull},
			})
			if st := serveOnce(h, "198.51.100.1", upstreamOK); st != http.StatusSeeOther {
				t.Fatalf("first client: %d", st)
			}
			if st := serveOnce(h, "198.51.100.1", upstreamOK); st != http.StatusTooManyRequests {
				t.Fatalf("first client over its limit: %d", st)
			}
			if st := serveOnce(h, "198.51.100.2", upstreamOK); st != c.want {
				t.Fatalf("new client on a full store: %d, want %d", st, c.want)
			}
			if st := serveOnce(h, "198.51.100.1", upstreamOK); st != http.StatusTooManyRequests {
				t.Fatalf("the limited key must stay limited: %d", st)
			}
		})
	}
}

// TestStoreSharedAndReleased: routes share one store per rules_store
// config, a second Cleanup releases nothing, and the last Cleanup drops
// the store (a new one starts empty).
func TestStoreSharedAndReleased(t *testing.T) {
	a := testApp(t)
	a.RulesStore = &app.RulesStoreConfig{MaxKeys: 777}
	mk := func(name string) *Handler {
		h := &Handler{Name: name, Event: EventLogin, RuleOptions: request.RuleOptions{Rules: []string{"rate ip 5/1m"}}}
		if err := h.provision(a, zap.NewNop()); err != nil {
			t.Fatal(err)
		}
		return h
	}
	ha, hb := mk("a"), mk("b")
	if len(a.Routes().Get("a")) != 1 || len(a.Routes().Get("b")) != 1 {
		t.Fatal("routes not registered")
	}
	serveOnce(hb, "198.51.100.1", upstreamOK)
	held := func() int { return heldKeys(t, a) }
	_ = ha.Cleanup()
	_ = ha.Cleanup() // Caddy calls it once; a second call must not release twice
	if held() != 1 {
		t.Fatal("the store was dropped while route b still uses it")
	}
	_ = hb.Cleanup()
	if held() != 0 {
		t.Fatal("store kept after the last route went")
	}
	if len(a.Routes().Get("a")) != 0 || len(a.Routes().Get("b")) != 0 {
		t.Fatal("routes still registered")
	}
	// A handler whose Provision failed before the rules is cleaned up too.
	var never Handler
	if err := never.Cleanup(); err != nil {
		t.Fatal(err)
	}
}

// upstreamClientGone is reverse_proxy when the client disconnected before
// the portal answered: it records 499 on the writer and returns.
var upstreamClientGone = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(499)
	return nil
})

// upstream499 is a portal that itself answers 499 (a real answer).
var upstream499 = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(499)
	return nil
})

// TestAbandonedLoginIsNoFailure: three clients that give up while the
// portal works (the proxy records 499 with no upstream answer) do not
// lock the user out; a 499 the portal itself sends with the client still
// there is an answer, and counts.
func TestAbandonedLoginIsNoFailure(t *testing.T) {
	h := ruleTestHandler(t, testApp(t), &Handler{
		Name: "abandon", Event: EventLogin,
		RuleOptions: request.RuleOptions{Rules: []string{"lockout user 3/1h for 1h deny"}},
	})
	for i := range 3 {
		r := rulesRequest("198.51.100.30", "username=jlopez&password=x")
		ctx, cancel := context.WithCancel(r.Context())
		r = r.WithContext(ctx)
		cancel() // the client is gone by the time the proxy gives up
		w := httptest.NewRecorder()
		_ = h.ServeHTTP(w, r, upstreamClientGone)
		if w.Code != 499 {
			t.Fatalf("abandoned login %d: recorded %d, want the proxy's 499 passed on", i, w.Code)
		}
	}
	if st := serveOnce(h, "198.51.100.30", upstreamOK); st != http.StatusSeeOther {
		t.Fatalf("after three abandoned logins the right password got %d", st)
	}
	for range 3 {
		serveOnce(h, "198.51.100.31", upstream499)
	}
	if st := serveOnce(h, "198.51.100.31", upstreamOK); st != http.StatusForbidden {
		t.Fatalf("three 499s from the portal itself are failures: got %d, want the lockout", st)
	}
}

// TestCleanupWhileServing: a reload cleans up the old config's handlers
// while their requests may still be at the upstream (Caddy does not wait
// for them). Such a request still settles its lockout ticket when the
// answer comes, and gets the upstream's answer, not a panic.
func TestCleanupWhileServing(t *testing.T) {
	h := ruleTestHandler(t, testApp(t), &Handler{
		Name: "reloaded", Event: EventLogin,
		Success:     &SuccessCriteria{Location: "/account"},
		RuleOptions: request.RuleOptions{Rules: []string{"lockout ip_user 5/15m for 30m challenge"}},
	})
	cleanedMidway := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := h.Cleanup(); err != nil {
			return err
		}
		return upstreamOK.ServeHTTP(w, r)
	})
	if st := serveOnce(h, "198.51.100.40", cleanedMidway); st != http.StatusSeeOther {
		t.Fatalf("a login whose handler was cleaned up at the upstream: %d, want the upstream's 303", st)
	}
	// Cleanup stays idempotent: the route was unregistered once.
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.app.Routes().Get(h.Name)); n != 0 {
		t.Errorf("route still registered (%d)", n)
	}
}
