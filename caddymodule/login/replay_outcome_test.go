package login

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
)

// challengedLogin sends a login through the route, where a rule
// challenges it (so its lockout slots were reserved, then given back),
// and returns the continuation cookie the completion of its step-up
// would give the browser.
func challengedLogin(t *testing.T, h *Handler, body string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if st := status(h.ServeHTTP(w, newRequest(http.MethodPost, "/api/login", formType, body), upstreamUnreached(t)), w); st != http.StatusSeeOther || w.Header().Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", st, w.Header().Get("Location"))
	}
	var tok string
	for _, c := range w.Result().Cookies() {
		if c.Name == request.CookieState {
			tok = c.Value
		}
	}
	var st stepup.State
	if err := h.app.Tokens().Open(stepup.PurposeState, tok, time.Now(), &st); err != nil {
		t.Fatalf("state %q: %v", tok, err)
	}
	iss, _, err := h.StepUpOptions.states.Machinery(h.app)
	if err != nil {
		t.Fatal(err)
	}
	cont, err := iss.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: request.CookieContinue, Value: cont}
}

// login is an ordinary login of user from the held login's address, by
// a browser with an agent (so the route's rule does not challenge it).
func login(h *Handler, user string, next caddyhttp.Handler) int {
	w := httptest.NewRecorder()
	return status(h.ServeHTTP(w, rulesRequest(benchIP, "username="+user+"&password=x"), next), w)
}

// TestReplayOutcomeCountsOnce: the portal's answer to a held login
// replayed after its step-up counts in the route's lockouts once, as an
// ordinary login's does. The challenge gives its slot back and counts
// nothing; the replay reserves nothing and records its outcome: a
// refused password is a failure, an accepted one resets the user's
// failures. (The held login is the one without a User-Agent, which the
// route's rule challenges.)
func TestReplayOutcomeCountsOnce(t *testing.T) {
	handler := func(t *testing.T, lockout string) *Handler {
		h, _, _ := replayHandler(t, &Handler{Name: "login", Event: EventLogin,
			Success:     &SuccessCriteria{Location: "/account"},
			RuleOptions: request.RuleOptions{Rules: []string{lockout, `when "user_agent == \"\"" challenge no_agent`}}})
		return h
	}
	t.Run("failure locks", func(t *testing.T) {
		h := handler(t, "lockout ip 1/1h for 1h deny")
		cont := challengedLogin(t, h, "username=held&password=wrong")
		if st := continueLogin(h, cont, upstreamFailed); st != http.StatusSeeOther {
			t.Fatalf("replay: %d", st)
		}
		if st := login(h, "jlopez", upstreamUnreached(t)); st != http.StatusForbidden {
			t.Fatalf("login from the address after the replay's failure: %d, want 403 (locked)", st)
		}
	})
	t.Run("failure counted once", func(t *testing.T) {
		// Two failures allowed: the replay's is one, so the next
		// failure is let through and locks the address.
		h := handler(t, "lockout ip 2/1h for 1h deny")
		cont := challengedLogin(t, h, "username=held&password=wrong")
		if st := continueLogin(h, cont, upstreamFailed); st != http.StatusSeeOther {
			t.Fatalf("replay: %d", st)
		}
		if st := login(h, "jlopez", upstreamFailed); st != http.StatusSeeOther {
			t.Fatalf("second failure: %d, want it let through", st)
		}
		if st := login(h, "jlopez", upstreamUnreached(t)); st != http.StatusForbidden {
			t.Fatalf("after two failures: %d, want 403", st)
		}
	})
	t.Run("success resets", func(t *testing.T) {
		h := handler(t, "lockout user 2/1h for 1h deny")
		cont := challengedLogin(t, h, "username=jlopez&password=right")
		if st := login(h, "jlopez", upstreamFailed); st != http.StatusSeeOther {
			t.Fatalf("failure while the step-up is under way: %d", st)
		}
		if st := continueLogin(h, cont, upstreamOK); st != http.StatusSeeOther {
			t.Fatalf("replay: %d", st)
		}
		// The replay's success forgot the failure: one more does not
		// lock the user.
		if st := login(h, "jlopez", upstreamFailed); st != http.StatusSeeOther {
			t.Fatalf("failure after the replay: %d", st)
		}
		if st := login(h, "jlopez", upstreamOK); st != http.StatusSeeOther {
			t.Fatalf("login after one failure since the replay's success: %d, want 303 (not locked)", st)
		}
	})
	t.Run("upstream error counts nothing", func(t *testing.T) {
		h := handler(t, "lockout ip 1/1h for 1h deny")
		cont := challengedLogin(t, h, "username=held&password=wrong")
		if st := continueLogin(h, cont, upstreamDown); st != http.StatusBadGateway {
			t.Fatalf("replay: %d", st)
		}
		if st := login(h, "jlopez", upstreamOK); st != http.StatusSeeOther {
			t.Fatalf("login after a replay the upstream did not answer: %d, want 303", st)
		}
	})
}
