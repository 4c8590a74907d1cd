// Package enginefake is an in-house risk engine for the tests that start
// Caddy: it speaks the generic HTTP engine's schema (clients/httpengine),
// checks every request against it, answers by the user in the attempt,
// and can be switched into the failures a real service shows.
package enginefake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/jsonshape"
)

// Attempt is schema version 1 of the request body, every key always sent.
var Attempt = jsonshape.Shape{"version": "number", "route": "string", "event": "string", "user": "string", "ip": "string",
	"user_agent": "string", "device_present": "bool", "device": "string", "session": "string", "assertion": "string",
	"time": "string", "outcome": "string"}

// Check checks one request against the schema: a POST with exactly one
// of each of the documented headers (and of each header in want, such as
// a configured Authorization), a body of exactly Attempt's keys, version
// 1, and a UTC time with milliseconds.
func Check(method string, h http.Header, body []byte, want http.Header) error {
	if method != http.MethodPost {
		return fmt.Errorf("engine: method %s, want POST", method)
	}
	need := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}, "User-Agent": {"login_guard"}}
	for k, v := range want {
		need[k] = v
	}
	for k, v := range need {
		if got := h.Values(k); len(got) != 1 || got[0] != v[0] {
			return fmt.Errorf("engine: %s %q, want exactly %q", k, got, v[0])
		}
	}
	if err := jsonshape.Check("engine attempt", body, Attempt); err != nil {
		return err
	}
	var a struct {
		Version int    `json:"version"`
		Time    string `json:"time"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	if a.Version != 1 {
		return fmt.Errorf("engine: version %d, want 1", a.Version)
	}
	if ts, err := time.Parse("2006-01-02T15:04:05.000Z07:00", a.Time); err != nil || ts.Location() != time.UTC || len(a.Time) != len("2006-01-02T15:04:05.000Z") {
		return fmt.Errorf("engine: time %q is not RFC 3339 UTC with milliseconds", a.Time)
	}
	return nil
}

// Mode is how the fake answers.
type Mode string

const (
	// ByUser answers by the attempt's user: "slow" after 2s, "broken"
	// 500, "garbage" a cut JSON, "weird" an unknown action, "risky" a
	// deny, "odd" a challenge, anyone else an allow.
	ByUser  Mode = "by_user"
	Slow    Mode = "slow"    // an allow after 2s, for everyone
	Garbage Mode = "garbage" // a body that is not the answer's JSON
	Fail    Mode = "500"     // 500
)

// answers of ByUser, by user.
var byUser = map[string]struct {
	status int
	body   string
}{
	"broken":  {http.StatusInternalServerError, ""},
	"garbage": {http.StatusOK, `{"action":`},
	"weird":   {http.StatusOK, `{"action":"maybe"}`},
	"risky":   {http.StatusOK, `{"action":"deny","score":91,"reasons":["velocity"]}`},
	"odd":     {http.StatusOK, `{"action":"challenge","score":55,"reasons":["new_device"]}`},
}

const (
	allow    = `{"action":"allow","score":3}`
	slowWait = 2 * time.Second
	// MaxKept is how many requests All keeps (the first ones).
	MaxKept = 1024
)

// Request is one request as the fake received it.
type Request struct {
	Header http.Header
	Body   []byte
}

// Server is a fake engine on loopback. A request that fails Check is
// answered 400 and fails the test when it ends.
type Server struct {
	*httptest.Server
	want  http.Header
	mode  atomic.Value // Mode
	calls atomic.Int64

	mu       sync.Mutex
	got      []Request
	rejected []string
}

// New starts a fake engine in mode ByUser; every request must carry the
// headers in want (nil: none beyond the schema's). It stops when the test
// ends.
func New(t testing.TB, want http.Header) *Server {
	s := &Server{want: want}
	s.mode.Store(ByUser)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.rejected {
			t.Errorf("the fake engine refused a request: %s", r)
		}
	})
	return s
}

// SetMode switches how the next requests are answered.
func (s *Server) SetMode(m Mode) { s.mode.Store(m) }

// Calls counts every request received.
func (s *Server) Calls() int64 { return s.calls.Load() }

// All returns the requests kept (the first MaxKept).
func (s *Server) All() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.calls.Add(1)
	err := Check(r.Method, r.Header, body, s.want)
	s.mu.Lock()
	if len(s.got) < MaxKept {
		s.got = append(s.got, Request{Header: r.Header.Clone(), Body: body})
	}
	if err != nil {
		s.rejected = append(s.rejected, err.Error())
	}
	s.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var a struct {
		User string `json:"user"`
	}
	_ = json.Unmarshal(body, &a)
	mode := s.mode.Load().(Mode)
	switch {
	case mode == Fail:
		w.WriteHeader(http.StatusInternalServerError)
	case mode == Garbage:
		io.WriteString(w, `{"action": "maybe", "score": "high"`)
	case mode == Slow, mode == ByUser && a.User == "slow":
		select {
		case <-time.After(slowWait):
			io.WriteString(w, allow)
		case <-r.Context().Done():
			// No answer at all: a returning handler would send a 200 that net/http's
			// client may still hand a caller cancelling the request, as if answered.
			panic(http.ErrAbortHandler)
		}
	default:
		if ans, ok := byUser[a.User]; ok {
			w.WriteHeader(ans.status)
			io.WriteString(w, ans.body)
			return
		}
		io.WriteString(w, allow)
	}
}
