package smartid

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/jsonshape"
	"github.com/login-guard/login_guard/internal/testkit/smartidfake"
)

const testLicense = "lic-7f3a9c1e-SECRET"

var testIP = netip.MustParseAddr("20.201.64.54")

// received is one request as the fake SmartID server saw it.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeSmartID is an httptest server on 127.0.0.1 standing in for SmartID.
// It records every request on reqs and answers with status(n) for the
// n-th request (1-based); hold, when set, blocks the handler until it is
// closed or the client gives up.
type fakeSmartID struct {
	srv    *httptest.Server
	reqs   chan received
	mu     sync.Mutex
	n      int
	status func(n int) (int, http.Header)
	hold   chan struct{}
	conns  atomic.Int32 // TCP connections accepted
}

func newFakeSmartID(t *testing.T, status func(n int) (int, http.Header)) *fakeSmartID {
	t.Helper()
	f := &fakeSmartID{reqs: make(chan received, 256), status: status}
	if f.status == nil {
		f.status = func(int) (int, http.Header) { return http.StatusOK, nil }
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSmartID) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	f.mu.Lock()
	f.n++
	n := f.n
	hold := f.hold
	f.mu.Unlock()
	f.reqs <- received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			// No answer at all: a returning handler would send a 200 that net/http's
			// client may still hand a caller cancelling the request, as if answered.
			panic(http.ErrAbortHandler)
		}
	}
	code, h := f.status(n)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

// holdRequests makes the handler block until the returned release is
// called.
func (f *fakeSmartID) holdRequests() (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.hold = ch
	f.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// next returns the next recorded request. The guard against a hung test
// is the only timer in the tests and never decides a result.
func (f *fakeSmartID) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-f.reqs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("fake SmartID: no request arrived")
		return received{}
	}
}

// assertNoMoreRequests must be called after the client is closed.
func (f *fakeSmartID) assertNoMoreRequests(t *testing.T) {
	t.Helper()
	select {
	case r := <-f.reqs:
		t.Fatalf("unexpected extra request to %s", r.Path)
	default:
	}
}

// checkRequest verifies method, path and the two headers the seed shows,
// and that the integration suites' fake SmartID accepts the request.
func checkRequest(t *testing.T, r received, wantPath string) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if r.Path != wantPath {
		t.Errorf("path = %q, want %q", r.Path, wantPath)
	}
	if got := r.Header.Values("Content-Type"); len(got) != 1 || got[0] != "application/json" {
		t.Errorf("Content-Type = %q, want exactly application/json", got)
	}
	if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+testLicense {
		t.Errorf("Authorization = %q, want exactly one bearer with the license", got)
	}
	// What the client sends passes the integration suites' fake SmartID.
	if _, err := smartidfake.Check(r.Method, r.Path, r.Header, r.Body, testLicense); err != nil {
		t.Error(err)
	}
}

// schema describes a JSON object's exact keys and types; the shapes and
// the check are the ones the fake SmartID of the integration suites uses.
type schema = jsonshape.Shape

func checkSchema(t *testing.T, where string, raw json.RawMessage, want schema) {
	t.Helper()
	if err := jsonshape.Check(where, raw, want); err != nil {
		t.Error(err)
	}
}

// reports collects Observer reports on a channel so tests can wait for
// a delivery's end without sleeping.
type reports chan Report

func (r reports) Observe(rep Report) { r <- rep }

func (r reports) next(t *testing.T) Report {
	t.Helper()
	select {
	case rep := <-r:
		return rep
	case <-time.After(10 * time.Second):
		t.Fatal("no report arrived")
		return Report{}
	}
}

// sleeps records requested backoff waits and returns at once, unless the
// context is already done, so retries run without real time passing.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// testConfig is a config aimed at f. Backoff waits never take real time:
// they go to sl, or to a throwaway recorder when sl is nil.
func testConfig(f *fakeSmartID, obs Observer, sl *sleeps) Config {
	cfg := Config{
		Endpoint:  f.srv.URL,
		License:   testLicense,
		ChannelID: 1,
		Observer:  obs,
	}
	if sl == nil {
		sl = &sleeps{}
	}
	cfg.Sleep = sl.sleep
	return cfg
}

func mustNew(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// onceServer is a SmartID stand-in that counts the events it receives by
// user, to check each reached it exactly once.
type onceServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

// newOnceServer starts one; pause, when set, runs after each event with
// the number of distinct users seen so far (a server that takes a varying
// while). It is closed when the test ends.
func newOnceServer(t *testing.T, pause func(k int)) *onceServer {
	s := &onceServer{seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ User string }
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		s.mu.Lock()
		s.seen[ev.User]++
		k := len(s.seen)
		s.mu.Unlock()
		if pause != nil {
			pause(k)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// checkEachOnce fails the test unless n distinct events arrived, each once.
func (s *onceServer) checkEachOnce(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != n {
		t.Errorf("%d distinct events reached the server, want %d", len(s.seen), n)
	}
	for u, k := range s.seen {
		if k != 1 {
			t.Errorf("%s reached the server %d times", u, k)
		}
	}
}
