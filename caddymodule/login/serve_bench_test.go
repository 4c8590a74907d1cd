package login

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/benchcpu"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

// testApp is an app with keys and no SmartID, as Start would leave it.
func testApp(tb testing.TB) *app.App {
	tb.Helper()
	return app.Standalone(testkeys.Keyset(tb, time.Now()), time.Hour)
}

func testHandler(tb testing.TB, h *Handler) *Handler {
	tb.Helper()
	if err := h.provision(testApp(tb), zap.NewNop()); err != nil {
		tb.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		tb.Fatal(err)
	}
	return h
}

// newRequest builds a request as Caddy's server would hand it to a handler:
// with a replacer and the client IP variable.
func newRequest(method, target, ctype, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "198.51.100.7"})
	return r.WithContext(ctx)
}

// upstreamOK answers like a portal that accepted the login.
var upstreamOK = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Location", "/account")
	w.WriteHeader(http.StatusSeeOther)
	return nil
})

const (
	benchForm  = "username=jlopez&password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	formType   = "application/x-www-form-urlencoded"
	benchIP    = "198.51.100.7"
	benchOther = "192.0.2.10"
)

// BenchmarkGuardedLogin is the whole guard on a login that passes: body
// read and parse, deny_ip, the upstream's answer judged, the session
// cookie sealed and the audit line encoded (no SmartID, which is
// asynchronous anyway).
func BenchmarkGuardedLogin(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "login", Event: EventLogin, DenyIP: []string{"203.0.113.0/24"}})
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusSeeOther {
			b.Fatal(err, w.code)
		}
	}
}

// BenchmarkGuardedDeny is the cheapest guarded path: a denied IP.
func BenchmarkGuardedDeny(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "login", Event: EventLogin, DenyIP: []string{"198.51.100.0/24"}})
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusForbidden {
			b.Fatal("want a deny, got", err, w.code)
		}
	}
}

// BenchmarkGuardedLogout is a logout carrying a valid guard session
// cookie, SmartID off, that the upstream accepts: the cookie opened, the
// session revoked, the cookie cleared, the audit line encoded. Each
// iteration brings a session of its own (none already revoked), sealed by
// the app's seal path as a login seals it, so the guard knows it from its
// session cache: the sessions are sealed in batches with the timer
// stopped, fewer than the cache holds, and cpu-ns/op counts only the
// timed logouts.
func BenchmarkGuardedLogout(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "logout", Event: EventLogout})
	b.Cleanup(func() { _ = h.app.Stop(); _ = h.app.Cleanup() })
	benchLogouts(b, h, h.app)
}

// BenchmarkGuardedLogoutUncached is BenchmarkGuardedLogout with sessions
// the guard has not seen: sealed by another app with the same keys (a
// second instance, or this one before a reload), so each logout decrypts
// its cookie.
func BenchmarkGuardedLogoutUncached(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "logout", Event: EventLogout})
	b.Cleanup(func() { _ = h.app.Stop(); _ = h.app.Cleanup() })
	other := app.Standalone(h.app.Keyset(), time.Hour)
	b.Cleanup(func() { _ = other.Stop(); _ = other.Cleanup() })
	benchLogouts(b, h, other)
}

// logoutBatch is how many sessions benchLogouts seals at a time: well
// within the session cache's bound.
const logoutBatch = 4096

// benchLogouts logs out b.N sessions sealed by sealer, each once, through
// h, reporting cpu-ns/op for the logouts alone.
func benchLogouts(b *testing.B, h *Handler, sealer *app.App) {
	br := newBenchRequest(http.MethodPost, "/api/logout", "", "", benchIP)
	w := newBenchWriter()
	cookies := make([]string, 0, logoutBatch)
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		cookies = cookies[:0]
		now := time.Now()
		for i := range min(logoutBatch, b.N-done) {
			tok, _, err := sealer.AppendSealSession([]byte(request.PlainSessionCookie+"="),
				app.Session{User: "jlopez", Session: "s" + strconv.Itoa(done+i)}, now)
			if err != nil {
				b.Fatal(err)
			}
			cookies = append(cookies, string(tok))
		}
		b.StartTimer()
		start := benchcpu.Process()
		for _, c := range cookies {
			br.cookie = c
			if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusSeeOther {
				b.Fatal(err, w.code)
			}
			if len(w.h["Set-Cookie"]) != 1 {
				b.Fatal("the session cookie was not cleared: the session was not known")
			}
		}
		cpu += benchcpu.Process() - start
		done += len(cookies)
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkGuardedLogoutReplayed is a logout replaying the cookie of a
// session already logged out: the session is found (in the session cache,
// where its seal put it), found revoked, and the logout passed on without
// a session.
func BenchmarkGuardedLogoutReplayed(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "logout", Event: EventLogout})
	b.Cleanup(func() { _ = h.app.Stop(); _ = h.app.Cleanup() })
	tokLine, _, err := h.app.AppendSealSession(nil, app.Session{User: "jlopez", Session: "s1"}, time.Now())
	tok := string(tokLine)
	if err != nil {
		b.Fatal(err)
	}
	br := newBenchRequest(http.MethodPost, "/api/logout", "", "", benchIP)
	br.cookie = request.PlainSessionCookie + "=" + tok
	w := newBenchWriter()
	// The first logout ends the session.
	if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || len(w.h["Set-Cookie"]) != 1 {
		b.Fatal("the first logout did not end a known session", err)
	}
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusSeeOther {
			b.Fatal(err, w.code)
		}
		if len(w.h["Set-Cookie"]) != 0 {
			b.Fatal("a revoked session was taken as known")
		}
	}
}

// smartIDStandIn is the least a SmartID can do over loopback: it reads
// each request's head and body and answers 200 with no body, so the
// client under test is the one production uses (its own HTTP/1.1 sender,
// pipelining when events queue). Its CPU is in the benchmark's figure:
// it runs in this process.
func smartIDStandIn(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go answerEvents(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

var contentLength = []byte("Content-Length")

func answerEvents(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for {
		length := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
			if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, contentLength) {
				length = 0
				for _, d := range bytes.TrimSpace(v) {
					length = length*10 + int(d-'0')
				}
			}
		}
		if length < 0 {
			return
		}
		if _, err := br.Discard(length); err != nil {
			return
		}
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		if br.Buffered() == 0 { // answer a pipeline's requests in one write
			if bw.Flush() != nil {
				return
			}
		}
	}
}

// BenchmarkGuardedLoginSmartID is BenchmarkGuardedLogin with SmartID on:
// the login event encoded and queued, and delivered by the client's
// workers to a stand-in on loopback (their CPU and the stand-in's count in
// cpu-ns/op: the process's whole cost of a login with SmartID).
func BenchmarkGuardedLoginSmartID(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "login", Event: EventLogin, DenyIP: []string{"203.0.113.0/24"}})
	c, err := smartid.New(smartid.Config{
		Endpoint: smartIDStandIn(b), License: "bench-license", ChannelID: 1,
		QueueSize: 1 << 16,
	})
	if err != nil {
		b.Fatal(err)
	}
	h.app.SendSmartIDThrough(c, "bench")
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusSeeOther {
			b.Fatal(err, w.code)
		}
	}
	// Delivery is part of the cost: wait for the queue to drain.
	if err := c.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if st := c.Stats(); st.Dropped > 0 || st.Failed > 0 {
		b.Fatalf("events dropped %d, failed %d", st.Dropped, st.Failed)
	}
}
