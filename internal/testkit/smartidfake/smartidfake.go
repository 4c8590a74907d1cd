// Package smartidfake is SmartID's analytics API for the tests: the
// request format of the v5 reference (method, path, headers, the exact
// keys and types of each event), checked on every request, and a fake
// server for the suites that start Caddy, which refuses what does not
// match and can be switched into the failure modes a real service shows.
package smartidfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/jsonshape"
)

// The objects of an operation event; each is sent whole or not at all.
var (
	Transaction = jsonshape.Shape{"category": "string", "type": "string", "description": "string", "reference": "string", "date": "string", "details": "object of strings"}
	Account     = jsonshape.Shape{"client": "string", "clientRefId": "number", "clientRefIdStr": "string", "email": "string", "phoneNumber": "string", "session": "string", "accountNumber": "string", "bank": "string"}
	Order       = jsonshape.Shape{"amount": "number", "currency": "string"}
	AccountTo   = jsonshape.Shape{"client": "string", "accountNumber": "string", "bank": "string"}
	Funds       = jsonshape.Shape{"account": "string", "bank": "string", "currency": "string"}
	CreditCard  = jsonshape.Shape{"bin": "string", "hash": "string", "last4Digits": "string", "token": "string"}
)

// The events, with the reference's required and optional attributes.
var (
	Login     = jsonshape.Shape{"channelId": "number", "user": "string", "session?": "string", "publicIp": "string", "data": "string"}
	Logout    = jsonshape.Shape{"channelId": "number", "user": "string", "session": "string", "publicIp?": "string", "data?": "string"}
	Operation = jsonshape.Shape{"channelId": "number", "timestamp": "string", "transaction?": Transaction, "account?": Account,
		"order?": Order, "accountTo?": AccountTo, "debitFrom?": Funds, "creditTo?": Funds, "creditCard?": CreditCard}
)

var eventPath = regexp.MustCompile(`^(.*)/(api|api-dev)/v5/analytics/(web|app)/(login|logout|operation)$`)

// Event is one request that passed Check.
type Event struct {
	Kind    string // login, logout or operation
	Channel string // web or app
	Dev     bool   // sent to the Dev/QA path
	Body    map[string]any
	Raw     []byte
}

// Check checks one request against the reference: a POST to an event's
// path (under any prefix of the endpoint), exactly one
// `Content-Type: application/json` and one `Authorization: Bearer
// <license>`, and a body with exactly the event's keys and types.
func Check(method, path string, h http.Header, body []byte, license string) (Event, error) {
	if method != http.MethodPost {
		return Event{}, fmt.Errorf("smartid: method %s, want POST", method)
	}
	m := eventPath.FindStringSubmatch(path)
	if m == nil {
		return Event{}, fmt.Errorf("smartid: path %q is not an analytics event", path)
	}
	if got := h.Values("Content-Type"); len(got) != 1 || got[0] != "application/json" {
		return Event{}, fmt.Errorf("smartid: Content-Type %q, want exactly application/json", got)
	}
	if got := h.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+license {
		return Event{}, fmt.Errorf("smartid: Authorization %q, want exactly one bearer with the license", got)
	}
	ev := Event{Kind: m[4], Channel: m[3], Dev: m[2] == "api-dev", Raw: body}
	shape := map[string]jsonshape.Shape{"login": Login, "logout": Logout, "operation": Operation}[ev.Kind]
	if err := jsonshape.Check("smartid "+ev.Kind, body, shape); err != nil {
		return Event{}, err
	}
	if err := json.Unmarshal(body, &ev.Body); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Mode is how the fake server answers.
type Mode string

const (
	OK       Mode = "ok"   // 200 at once
	Fail     Mode = "500"  // 500, nothing accepted
	TooMany  Mode = "429"  // 429 with Retry-After: 0
	Hang     Mode = "hang" // no answer until the test ends or the client goes away
	Slow     Mode = "slow" // 200 after 50ms
	slowWait      = 50 * time.Millisecond
)

// Server is a fake SmartID on loopback. It checks every request with
// Check; one that fails is answered 400 and fails the test when it ends.
type Server struct {
	*httptest.Server
	license  string
	mode     atomic.Value // Mode
	accepted atomic.Int64
	attempts atomic.Int64
	release  chan struct{}

	mu       sync.Mutex
	users    map[string]int
	rejected []string
}

// New starts a fake SmartID that expects license; it stops when the test
// ends.
func New(t testing.TB, license string) *Server {
	s := &Server{license: license, users: map[string]int{}, release: make(chan struct{})}
	s.mode.Store(OK)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.release)
		s.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.rejected {
			t.Errorf("the fake SmartID refused a request: %s", r)
		}
	})
	return s
}

// SetMode switches how the next requests are answered.
func (s *Server) SetMode(m Mode) { s.mode.Store(m) }

// Attempts counts every request received, accepted or not.
func (s *Server) Attempts() int64 { return s.attempts.Load() }

// Accepted counts the events answered 200: well-formed, in a mode that
// accepts, and not abandoned by the client first.
func (s *Server) Accepted() int64 { return s.accepted.Load() }

// User is how many events for user were accepted.
func (s *Server) User(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[user]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.attempts.Add(1)
	ev, err := Check(r.Method, r.URL.Path, r.Header, body, s.license)
	if err != nil {
		s.mu.Lock()
		s.rejected = append(s.rejected, err.Error())
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch s.mode.Load().(Mode) {
	case Fail:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case TooMany:
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case Hang:
		select {
		case <-s.release:
		case <-r.Context().Done():
			// No answer at all: a returning handler would send a 200 that net/http's
			// client may still hand a caller cancelling the request, as if answered.
			panic(http.ErrAbortHandler)
		}
	case Slow:
		// An attempt the client abandons is not an accepted event.
		select {
		case <-time.After(slowWait):
		case <-r.Context().Done():
			return
		}
	}
	user, _ := ev.Body["user"].(string)
	s.mu.Lock()
	s.users[user]++
	s.mu.Unlock()
	s.accepted.Add(1)
	w.WriteHeader(http.StatusOK)
}
