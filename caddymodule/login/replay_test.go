package login

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// recordingHeld is the held store as the replay sees it: it keeps each
// request it hands out, so a test can look at the decrypted body once the
// handler has returned.
type recordingHeld struct {
	stepup.HeldStore
	taken []stepup.Request
}

func (h *recordingHeld) TakeRequest(ref stepup.Ref) (stepup.Request, error) {
	r, err := h.HeldStore.TakeRequest(ref)
	if err == nil {
		h.taken = append(h.taken, r)
	}
	return r, err
}

// replayHandler is a login route with step-up (resume) whose held store
// records what it hands out, and whose audit lines go to the returned
// buffer.
func replayHandler(t *testing.T, h *Handler) (*Handler, *recordingHeld, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	h.StepUpOptions = StepUpOptions{StepUp: "/verify"}
	a := testApp(t)
	if err := h.provision(a, zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zap.InfoLevel))); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	_, rt, err := h.StepUpOptions.states.Machinery(a)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingHeld{HeldStore: rt.Held}
	rt.Held = rec
	return h, rec, &buf
}

// heldLogin challenges a login (benchForm, from the address newRequest
// gives) and returns the continuation cookie the completion of its
// step-up would give the browser.
func heldLogin(t *testing.T, h *Handler) *http.Cookie {
	t.Helper()
	iss, _, err := h.StepUpOptions.states.Machinery(h.app)
	if err != nil {
		t.Fatal(err)
	}
	r := newRequest(http.MethodPost, "/api/login", formType, benchForm)
	x := &exchange{h: h}
	x.Init(h.route, r, time.Now())
	if err := x.readRequest(r); err != nil {
		t.Fatal(err)
	}
	x.Verdict.Add(rules.Challenge, "test")
	w := httptest.NewRecorder()
	if err := x.challenge(w, r, upstreamOK); err != nil || w.Code != http.StatusSeeOther {
		t.Fatalf("challenge: %v %d", err, w.Code)
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
	cont, err := iss.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: request.CookieContinue, Value: cont}
}

// continueLogin sends the browser's POST back to the login with the
// continuation, as the completion's 307 makes it.
func continueLogin(h *Handler, cont *http.Cookie, next caddyhttp.Handler) int {
	r := newRequest(http.MethodPost, "/api/login", formType, "")
	r.AddCookie(cont)
	w := httptest.NewRecorder()
	return status(h.ServeHTTP(w, r, next), w)
}

func wiped(b []byte) bool {
	return len(b) > 0 && bytes.Count(b, []byte{0}) == len(b)
}

// TestReplayWipesTheHeldBody: the decrypted body of a held login (its
// password) is zeroed once the replay is over, only after the next
// handler (the proxy) has returned, and on a replay the route refuses.
func TestReplayWipesTheHeldBody(t *testing.T) {
	h, rec, _ := replayHandler(t, &Handler{Name: "login", Event: EventLogin})
	cont := heldLogin(t, h)
	var during []byte
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, err := io.ReadAll(r.Body)
		if err != nil || string(b) != benchForm {
			t.Errorf("upstream read %q, %v", b, err)
		}
		if len(rec.taken) == 1 {
			during = bytes.Clone(rec.taken[0].Body)
		}
		return upstreamOK.ServeHTTP(w, r)
	})
	if st := continueLogin(h, cont, next); st != http.StatusSeeOther {
		t.Fatalf("replay: %d", st)
	}
	if len(rec.taken) != 1 {
		t.Fatalf("%d held requests taken", len(rec.taken))
	}
	if string(during) != benchForm {
		t.Fatalf("while the upstream ran, the held body was %q: wiped too early", during)
	}
	if body := rec.taken[0].Body; !wiped(body) {
		t.Fatalf("after the handler returned, the held body is %q, want it zeroed", body)
	}

	// A replay the route refuses (see TestReplayRechecksIPLists) wipes it
	// too, without the upstream.
	cont = heldLogin(t, h)
	deny, err := rules.ParseIPList([]string{"198.51.100.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	h.route.DenyIP = deny
	if st := continueLogin(h, cont, upstreamUnreached(t)); st != http.StatusForbidden {
		t.Fatalf("refused replay: %d", st)
	}
	if len(rec.taken) != 2 || !wiped(rec.taken[1].Body) {
		t.Fatalf("the refused replay's held body is %q, want it zeroed", rec.taken[len(rec.taken)-1].Body)
	}
}

func upstreamUnreached(t *testing.T) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		t.Error("the held login reached the upstream")
		return upstreamOK.ServeHTTP(w, r)
	})
}

// lastAudit is the buffer's last audit line.
func lastAudit(t *testing.T, buf *bytes.Buffer) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], `"msg":"login_guard"`) {
			return lines[i]
		}
	}
	t.Fatalf("no audit line in %s", buf.String())
	return ""
}

// TestReplayRechecksIPLists: a held login whose client the route's
// deny_ip now covers (a reload between the challenge and the completion)
// is refused at the replay, 403, and never reaches the upstream; one
// whose client allow_ip covers passes as on any request.
func TestReplayRechecksIPLists(t *testing.T) {
	h, _, buf := replayHandler(t, &Handler{Name: "login", Event: EventLogin})
	cont := heldLogin(t, h)
	deny, err := rules.ParseIPList([]string{"198.51.100.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	h.route.DenyIP = deny
	if st := continueLogin(h, cont, upstreamUnreached(t)); st != http.StatusForbidden {
		t.Fatalf("replay after deny_ip: %d, want 403", st)
	}
	if a := lastAudit(t, buf); !strings.Contains(a, `"action":"deny","reasons":["ip_denied","step_up_replay_denied"]`) {
		t.Fatalf("audit line %s", a)
	}
	// The held login is gone: the same continuation finds nothing.
	if st := continueLogin(h, cont, upstreamUnreached(t)); st != http.StatusForbidden {
		t.Fatalf("second try: %d", st)
	}

	// allow_ip settles the request before deny_ip, as on the first pass.
	cont = heldLogin(t, h)
	if h.route.AllowIP, err = rules.ParseIPList([]string{"198.51.100.7/32"}); err != nil {
		t.Fatal(err)
	}
	if st := continueLogin(h, cont, upstreamOK); st != http.StatusSeeOther {
		t.Fatalf("allow_ip client: %d", st)
	}
}

// TestReplayRechecksLockouts: a held login whose address reached a
// lockout while its user passed the step-up (other failed logins from
// it) is refused at the replay; a lockout whose
// action is challenge lets it through (its user has just passed one).
func TestReplayRechecksLockouts(t *testing.T) {
	for _, c := range []struct {
		action string
		want   int
	}{{"deny", http.StatusForbidden}, {"challenge", http.StatusSeeOther}} {
		t.Run(c.action, func(t *testing.T) {
			h, _, buf := replayHandler(t, &Handler{Name: "login", Event: EventLogin,
				Success:     &SuccessCriteria{Location: "/account"},
				RuleOptions: request.RuleOptions{Rules: []string{"lockout ip 2/1h for 1h " + c.action}}})
			cont := heldLogin(t, h)
			for i := range 2 {
				if st := serveOnce(h, "198.51.100.7", upstreamFailed); st != http.StatusSeeOther {
					t.Fatalf("failed login %d: %d", i, st)
				}
			}
			var next caddyhttp.Handler = upstreamOK
			if c.want == http.StatusForbidden {
				next = upstreamUnreached(t)
			}
			if st := continueLogin(h, cont, next); st != c.want {
				t.Fatalf("replay with the address locked: %d, want %d", st, c.want)
			}
			if c.want == http.StatusForbidden {
				if a := lastAudit(t, buf); !strings.Contains(a, `"reasons":["lockout_ip","step_up_replay_denied"]`) {
					t.Fatalf("audit line %s", a)
				}
			}
		})
	}
}
