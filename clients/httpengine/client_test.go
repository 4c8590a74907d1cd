package httpengine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/engine/enginetest"
	"github.com/login-guard/login_guard/rules"
)

const secret = "Bearer s3cr3t-token"

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.FixedZone("CET", 3600))

func attempt() *rules.Attempt {
	return &rules.Attempt{
		Route: "portal-login", Event: "login", User: "Alice@Example.com",
		IP:        netip.MustParseAddr("::ffff:203.0.113.5"),
		UserAgent: `Mozilla/5.0 "quoted" <b>`, Device: "dev-payload", DevicePresent: true,
		Session: "", Assertion: "valid", Time: t0, Outcome: rules.OutcomeUnknown,
		Header: http.Header{"Cookie": {"sid=topsecret"}},
	}
}

// wantBody is the exact schema-1 encoding of attempt().
const wantBody = `{"version":1,"route":"portal-login","event":"login","user":"Alice@Example.com",` +
	`"ip":"203.0.113.5","user_agent":"Mozilla/5.0 \"quoted\" \u003cb\u003e","device_present":true,` +
	`"device":"dev-payload","session":"","assertion":"valid","time":"2025-01-02T02:04:05.678Z","outcome":"unknown"}`

// fakeService records what it receives and answers with the reply for the
// request's path.
type fakeService struct {
	t       *testing.T
	mu      sync.Mutex
	got     []*http.Request
	bodies  []string
	replies map[string]func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T) (*fakeService, *httptest.Server) {
	f := &fakeService{t: t, replies: map[string]func(http.ResponseWriter, *http.Request){}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, r)
		f.bodies = append(f.bodies, string(body))
		reply := f.replies[r.URL.Path]
		f.mu.Unlock()
		if reply == nil {
			http.NotFound(w, r)
			return
		}
		reply(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func jsonReply(s string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, s)
	}
}

func newClient(t *testing.T, url string, mod func(*Config)) *Client {
	cfg := Config{Name: "scoring", URL: url, Headers: map[string]string{"Authorization": secret, "x-tenant": "t1"}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestRequestBytes(t *testing.T) {
	f, srv := newFake(t)
	f.replies["/score"] = jsonReply(`{"action":"allow"}`)
	c := newClient(t, srv.URL+"/score?tenant=1", nil)
	if _, err := c.Decide(context.Background(), attempt()); err != nil {
		t.Fatal(err)
	}
	r := f.got[0]
	if r.Method != http.MethodPost || r.URL.Path != "/score" || r.URL.RawQuery != "tenant=1" {
		t.Fatalf("request line %s %s", r.Method, r.URL)
	}
	wantHeaders := map[string]string{
		"Content-Type":    "application/json",
		"Accept":          "application/json",
		"User-Agent":      "login_guard",
		"Authorization":   secret,
		"X-Tenant":        "t1",
		"Content-Length":  strconv.Itoa(len(wantBody)),
		"Accept-Encoding": "gzip",
	}
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(r.Header) != len(wantHeaders) {
		t.Errorf("headers %v, want exactly %d", names, len(wantHeaders))
	}
	for k, v := range wantHeaders {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if f.bodies[0] != wantBody {
		t.Fatalf("body\n got %s\nwant %s", f.bodies[0], wantBody)
	}
	if strings.Contains(f.bodies[0], "topsecret") {
		t.Fatal("request headers leaked into the payload")
	}
}

func TestRequestFieldTypes(t *testing.T) {
	// Every key present with its JSON type, also for an empty attempt.
	clock := func() time.Time { return time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC) }
	b, err := encode(NewRequest(&rules.Attempt{Outcome: rules.OutcomeFailure}, clock))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"route":"","event":"","user":"","ip":"","user_agent":"","device_present":false,` +
		`"device":"","session":"","assertion":"","time":"2030-05-06T07:08:09.000Z","outcome":"failure"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestDecisions(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		action   rules.Action
		reasons  []string
		score    float64
		hasScore bool
		corr     string
	}{
		{"allow", `{"action":"allow"}`, rules.Allow, nil, 0, false, ""},
		{"allow with score and reasons", `{"action":"allow","score":12.5,"reasons":["Known Device"],"correlation_id":"c-1","extra":{}}`,
			rules.Allow, []string{"known_device"}, 12.5, true, "c-1"},
		{"challenge", `{"action":"challenge","score":61,"reasons":["new_device","geo-velocity"]}`,
			rules.Challenge, []string{rules.ReasonEngineChallenge, "new_device", "geo_velocity"}, 61, true, ""},
		{"deny", `{"action":"deny","score":0,"reasons":[]}`, rules.Deny, []string{rules.ReasonEngineDecline}, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.replies["/"] = jsonReply(tt.reply)
			v, err := newClient(t, srv.URL+"/", nil).Decide(context.Background(), attempt())
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.action || !reflect.DeepEqual(v.Reasons, tt.reasons) || v.Score != tt.score || v.HasScore != tt.hasScore {
				t.Fatalf("verdict %+v", v)
			}
			var want []rules.Correlation
			if tt.corr != "" {
				want = []rules.Correlation{{Engine: "scoring", ID: tt.corr}}
			}
			if !reflect.DeepEqual(v.Correlations, want) {
				t.Fatalf("correlations %+v, want %q", v.Correlations, tt.corr)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name  string
		reply func(http.ResponseWriter, *http.Request)
		kind  string
	}{
		{"unknown action", jsonReply(`{"action":"ALLOW"}`), engine.KindUnknownDecision},
		{"unknown action word", jsonReply(`{"action":"maybe"}`), engine.KindUnknownDecision},
		{"missing action", jsonReply(`{"score":1}`), engine.KindMalformed},
		{"null", jsonReply(`null`), engine.KindMalformed},
		{"garbage", jsonReply(`<html>oops`), engine.KindMalformed},
		{"truncated", jsonReply(`{"action":"allow"`), engine.KindMalformed},
		{"score not a number", jsonReply(`{"action":"allow","score":"high"}`), engine.KindMalformed},
		{"reasons not strings", jsonReply(`{"action":"allow","reasons":[1]}`), engine.KindMalformed},
		{"too large", jsonReply(`{"action":"allow","reasons":["` + strings.Repeat("a", 200) + `"]}`), engine.KindMalformed},
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, engine.KindStatus5xx},
		{"400", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad", 400) }, engine.KindStatus4xx},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.com/", http.StatusTemporaryRedirect)
		}, engine.KindStatusOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.replies["/"] = tt.reply
			c := newClient(t, srv.URL+"/", func(c *Config) { c.MaxResponseBytes = 128 })
			_, err := c.Decide(context.Background(), attempt())
			var fl *engine.Failure
			if !errors.As(err, &fl) || fl.Kind != tt.kind || fl.Engine != "scoring" {
				t.Fatalf("err = %v, want %s", err, tt.kind)
			}
			if msg := err.Error(); strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "<html>") {
				t.Fatalf("error leaks: %q", msg)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/score"
	l.Close()
	_, err = newClient(t, url, nil).Decide(context.Background(), attempt())
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindRefused {
		t.Fatalf("err = %v, want refused", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "/score") {
		t.Fatalf("error leaks: %q", err)
	}
}

func TestSlowServiceTimesOutWithoutLeaks(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		arrived <- struct{}{}
		<-r.Context().Done() // until the client gives up
		// No answer at all: a returning handler would send a 200 that net/http's
		// client may still hand a caller cancelling the request, as if answered.
		panic(http.ErrAbortHandler)
	}))
	base := runtime.NumGoroutine()
	c := newClient(t, srv.URL, nil)
	var r engine.Runner
	ctx := enginetest.NewExpiringContext()
	done := make(chan []engine.Result)
	go func() { done <- r.Run(ctx, []rules.Engine{c}, attempt(), time.Minute) }()
	<-arrived
	ctx.Expire()
	res := <-done
	if res[0].Failure == nil || res[0].Failure.Kind != engine.KindTimeout {
		t.Fatalf("result %+v, want timeout", res[0])
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	srv.Close()
	enginetest.CheckGoroutines(t, base)
}

func TestTimeoutConfig(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		// No answer at all: a returning handler would send a 200 that net/http's
		// client may still hand a caller cancelling the request, as if answered.
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *Config) { c.Timeout = time.Millisecond })
	_, err := c.Decide(context.Background(), attempt())
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindTimeout {
		t.Fatalf("err = %v, want timeout from Config.Timeout", err)
	}
}

func TestFourXXDoesNotOpenBreaker(t *testing.T) {
	f, srv := newFake(t)
	f.replies["/bad"] = func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad input", http.StatusUnprocessableEntity)
	}
	f.replies["/down"] = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }
	clk := enginetest.NewClock(t0)

	bad := engine.WithBreaker(newClient(t, srv.URL+"/bad", nil), engine.NewBreaker(engine.BreakerConfig{Threshold: 2, Now: clk.Now}))
	for range 5 {
		bad.Decide(context.Background(), attempt())
	}
	if s := bad.Breaker().State(); s != engine.Closed {
		t.Fatalf("4xx answers opened the breaker: %s", s)
	}
	down := engine.WithBreaker(newClient(t, srv.URL+"/down", nil), engine.NewBreaker(engine.BreakerConfig{Threshold: 2, Now: clk.Now}))
	for range 2 {
		down.Decide(context.Background(), attempt())
	}
	if s := down.Breaker().State(); s != engine.Open {
		t.Fatalf("5xx answers left the breaker %s", s)
	}
	calls := len(f.got)
	if _, err := down.Decide(context.Background(), attempt()); err == nil || len(f.got) != calls {
		t.Fatal("open breaker still called the service")
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{}, "url is required"},
		{"relative", Config{URL: "/x"}, "absolute"},
		{"ftp", Config{URL: "ftp://h/x"}, "absolute"},
		{"user info", Config{URL: "https://u:p@h/x"}, "user info"},
		{"bad header name", Config{URL: "https://h", Headers: map[string]string{"Bad Name": "v"}}, "invalid"},
		{"content-type", Config{URL: "https://h", Headers: map[string]string{"content-type": "text/plain"}}, "set by the client"},
		{"header injection", Config{URL: "https://h", Headers: map[string]string{"Authorization": "a\r\nX: y"}}, "invalid value"},
		{"negative timeout", Config{URL: "https://h", Timeout: -1}, "timeout must be positive"},
		{"unsanitized allowlist", Config{URL: "https://h", AllowedReasons: []string{"New Device"}}, "sanitized form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "a\r\nX") || strings.Contains(err.Error(), ":p@") {
				t.Fatalf("error quotes a secret: %v", err)
			}
		})
	}
	if _, err := New(Config{URL: "https://h/x", AllowedReasons: []string{"new_device"}}); err != nil {
		t.Fatal(err)
	}
}

// TestCallersClientFollowsNoRedirect: a Config.HTTPClient with net/http's
// own policy would follow a 307 to another port of the service's host
// name with Config.Headers (the Authorization); the client refuses the
// redirect instead.
func TestCallersClientFollowsNoRedirect(t *testing.T) {
	elsewhere, elsewhereSrv := newFake(t)
	elsewhere.replies["/score"] = jsonReply(`{"action":"allow"}`)
	f, srv := newFake(t)
	f.replies["/score"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhereSrv.URL+"/score", http.StatusTemporaryRedirect)
	}
	caller := &http.Client{}
	c := newClient(t, srv.URL+"/score", func(c *Config) { c.HTTPClient = caller })
	_, err := c.Decide(context.Background(), attempt())
	var fl *engine.Failure
	if !errors.As(err, &fl) || fl.Kind != engine.KindStatusOther || fl.Status != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want status_other (HTTP 307)", err)
	}
	elsewhere.mu.Lock()
	defer elsewhere.mu.Unlock()
	if len(elsewhere.got) != 0 {
		t.Fatalf("the redirect was followed: %d requests elsewhere", len(elsewhere.got))
	}
	if caller.CheckRedirect != nil {
		t.Fatal("the caller's client was changed")
	}
}
