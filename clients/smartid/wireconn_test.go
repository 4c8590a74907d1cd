package smartid

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// rawSmartID is a TCP server that answers each request with bytes a test
// scripts, so the lean sender can be shown answers net/http's server never
// writes. It parses every request with net/http's own parser and keeps the
// exact bytes the client sent.
type rawSmartID struct {
	ln     net.Listener
	reqs   chan []byte
	conns  atomic.Int32
	n      atomic.Int32
	answer func(n int) rawAnswer
	wg     sync.WaitGroup
	done   chan struct{}
}

// rawAnswer is the reply to the n-th request (1-based): bytes to write,
// then close the connection, or stall until the client gives up.
type rawAnswer struct {
	reply string
	close bool
	stall bool
}

const okReply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}"

func newRawSmartID(t *testing.T, answer func(n int) rawAnswer) *rawSmartID {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawSmartID{ln: ln, reqs: make(chan []byte, 256), answer: answer, done: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawSmartID) url() string { return "http://" + s.ln.Addr().String() }

func (s *rawSmartID) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.wg.Add(1)
		go s.serve(conn)
	}
}

func (s *rawSmartID) serve(conn net.Conn) {
	defer s.wg.Done()
	defer conn.Close()
	go func() { // unblock a stalled or reading handler at cleanup
		<-s.done
		conn.Close()
	}()
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &raw))
	for end := 0; ; {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		// What was read, minus what is buffered beyond this request.
		start := end
		end = raw.Len() - br.Buffered()
		s.reqs <- append([]byte(nil), raw.Bytes()[start:end]...)
		a := s.answer(int(s.n.Add(1)))
		if a.stall {
			<-s.done
			return
		}
		if _, err := io.WriteString(conn, a.reply); err != nil || a.close {
			return
		}
	}
}

func (s *rawSmartID) next(t *testing.T) []byte {
	t.Helper()
	select {
	case r := <-s.reqs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("raw SmartID: no request arrived")
		return nil
	}
}

func rawConfig(s *rawSmartID, obs Observer, sl *sleeps) Config {
	if sl == nil {
		sl = &sleeps{}
	}
	return Config{Endpoint: s.url(), License: testLicense, ChannelID: 1, Workers: 1, Observer: obs, Sleep: sl.sleep}
}

var hostPort = regexp.MustCompile(`Host: 127\.0\.0\.1:\d+\r\n`)

func always(a rawAnswer) func(int) rawAnswer { return func(int) rawAnswer { return a } }

// TestLeanSenderIsUsed: the default config takes the lean sender, so the
// fake-server tests in this package exercise it.
func TestLeanSenderIsUsed(t *testing.T) {
	c := mustNew(t, Config{Endpoint: "http://127.0.0.1:1/p", License: testLicense})
	if c.wire == nil {
		t.Fatal("default config: lean sender not used")
	}
	if got := string(c.wire.head(ChannelApp, KindLogout).prefix); !strings.HasPrefix(got, "POST /p/api/v5/analytics/app/logout HTTP/1.1\r\nHost: 127.0.0.1:1\r\n") {
		t.Errorf("head = %q", got)
	}
}

// TestWireBytesMatchNetHTTP sends the same events through the lean sender
// and through net/http and requires byte-identical requests.
func TestWireBytesMatchNetHTTP(t *testing.T) {
	events := []Event{
		Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice},
		Logout{ChannelKind: ChannelApp, User: "jlopez", Session: "s"},
		fullOperation(),
	}
	capture := func(httpClient *http.Client) [][]byte {
		s := newRawSmartID(t, always(rawAnswer{reply: okReply}))
		cfg := rawConfig(s, nil, nil)
		cfg.Endpoint += "/prefix"
		cfg.HTTPClient = httpClient
		c := mustNew(t, cfg)
		if (c.wire != nil) == (httpClient != nil) {
			t.Fatalf("lean sender chosen = %v with HTTPClient %v", c.wire != nil, httpClient)
		}
		var got [][]byte
		for _, ev := range events {
			if err := c.Enqueue(ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, s.next(t))
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Sent != uint64(len(events)) {
			t.Errorf("stats = %+v", st)
		}
		return got
	}
	lean := capture(nil)
	viaNetHTTP := capture(defaultHTTPClient(1, nil))
	for i := range events {
		// The port differs between the two servers; nothing else may.
		a, b := hostPort.ReplaceAll(lean[i], []byte("Host: X\r\n")), hostPort.ReplaceAll(viaNetHTTP[i], []byte("Host: X\r\n"))
		if !bytes.Equal(a, b) {
			t.Errorf("event %d:\nlean     %q\nnet/http %q", i, a, b)
		}
	}
	if !bytes.HasPrefix(lean[0], []byte("POST /prefix/api/v5/analytics/web/login HTTP/1.1\r\n")) ||
		!bytes.Contains(lean[0], []byte("\r\nAuthorization: Bearer "+testLicense+"\r\n")) {
		t.Errorf("lean request = %q", lean[0][:200])
	}
}

// TestServerClosesAfterResponse: a server that closes the connection after
// each answer (with and without saying so) costs no retry: the next event
// goes on a new connection.
func TestServerClosesAfterResponse(t *testing.T) {
	for name, reply := range map[string]string{
		"announced": "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
		"silent":    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.0":  "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
	} {
		t.Run(name, func(t *testing.T) {
			s := newRawSmartID(t, always(rawAnswer{reply: reply, close: true}))
			obs := make(reports, 16)
			c := mustNew(t, rawConfig(s, obs, nil))
			for i := range 3 {
				if err := c.Enqueue(login("u")); err != nil {
					t.Fatal(err)
				}
				if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
					t.Fatalf("event %d: %+v", i, rep)
				}
			}
			if err := c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if st := c.Stats(); st.Sent != 3 || st.Retries != 0 {
				t.Errorf("stats = %+v", st)
			}
			if n := s.conns.Load(); n != 3 {
				t.Errorf("%d connections, want 3", n)
			}
		})
	}
}

// TestChunkedAnswers: chunked bodies (extensions and trailers included)
// are read to their end and the connection is kept.
func TestChunkedAnswers(t *testing.T) {
	replies := []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{\"status\":\"ok\"}\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3;ext=1\r\n{\"s\r\nA\r\ntatus\":\"ok\r\n2\r\n\"}\r\n0\r\nX-Trailer: v\r\n\r\n",
		"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
	}
	s := newRawSmartID(t, func(n int) rawAnswer { return rawAnswer{reply: replies[(n-1)%len(replies)]} })
	obs := make(reports, 16)
	c := mustNew(t, rawConfig(s, obs, nil))
	for i := range 6 {
		if err := c.Enqueue(login("u")); err != nil {
			t.Fatal(err)
		}
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Fatalf("event %d: %+v", i, rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections for 6 events, want 1 kept alive", n)
	}
}

// TestMalformedAnswersAreRetried: an answer the parser refuses fails the
// attempt as a transport error, closes the connection, and the retry on a
// new connection delivers the event.
func TestMalformedAnswersAreRetried(t *testing.T) {
	for name, bad := range map[string]string{
		"not HTTP":             "SMTP 220 hello\r\n\r\n",
		"status not digits":    "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
		"status out of range":  "HTTP/1.1 999 What\r\nContent-Length: 0\r\n\r\n",
		"HTTP/2 status line":   "HTTP/2 200\r\nContent-Length: 0\r\n\r\n",
		"bare LF":              "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
		"no framing":           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",
		"CL and chunked":       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"gzip framing":         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"two lengths":          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"signed length":        "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
		"obs-fold":             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n folded\r\n\r\n{}",
		"NUL in value":         "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\n{}",
		"space before colon":   "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}",
		"bad chunk size":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"chunk overrun":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
		"switching protocols":  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
		"truncated body":       "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}",
		"huge header":          "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20<<10) + "\r\nContent-Length: 0\r\n\r\n",
		"endless 100 Continue": strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			s := newRawSmartID(t, func(n int) rawAnswer {
				if n == 1 {
					return rawAnswer{reply: bad, close: true}
				}
				return rawAnswer{reply: okReply}
			})
			obs := make(reports, 16)
			c := mustNew(t, rawConfig(s, obs, nil))
			if err := c.Enqueue(login("u")); err != nil {
				t.Fatal(err)
			}
			rep := obs.next(t)
			if rep.Outcome != OutcomeRetry || rep.Status != 0 || rep.Err == nil {
				t.Fatalf("first report = %+v, want a retry after a transport error", rep)
			}
			if strings.Contains(rep.Err.Error(), testLicense) {
				t.Errorf("error leaks the license: %v", rep.Err)
			}
			if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 2 {
				t.Fatalf("second report = %+v", rep)
			}
			if err := c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := s.conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2 (the bad one closed)", n)
			}
		})
	}
}

// TestInterimAndBodylessAnswers: a 100 Continue before the answer is
// skipped; 204 and 304 carry no body; a 5xx with a body and Retry-After is
// read and retried on the same connection.
func TestInterimAndBodylessAnswers(t *testing.T) {
	replies := []string{
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 5\r\n\r\nbusy!",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	}
	s := newRawSmartID(t, func(n int) rawAnswer { return rawAnswer{reply: replies[min(n, len(replies))-1]} })
	obs := make(reports, 16)
	sl := &sleeps{}
	c := mustNew(t, rawConfig(s, obs, sl))
	for _, want := range []struct {
		outcome Outcome
		status  int
	}{{OutcomeSent, 200}, {OutcomeSent, 204}} {
		if err := c.Enqueue(login("u")); err != nil {
			t.Fatal(err)
		}
		if rep := obs.next(t); rep.Outcome != want.outcome || rep.Status != want.status {
			t.Fatalf("report = %+v, want %s %d", rep, want.outcome, want.status)
		}
	}
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeRetry || rep.Status != 503 || rep.Err != nil {
		t.Fatalf("report = %+v, want a retry after 503", rep)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sl.all(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("waits = %v, want the 503's Retry-After of 3s", got)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestLargeAnswerNotRead: a body beyond maxResponseBytes is not read; the
// status stands and the connection is replaced.
func TestLargeAnswerNotRead(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("x", 100)
	s := newRawSmartID(t, func(n int) rawAnswer {
		if n == 1 {
			return rawAnswer{reply: big}
		}
		return rawAnswer{reply: okReply}
	})
	obs := make(reports, 16)
	c := mustNew(t, rawConfig(s, obs, nil))
	for range 2 {
		if err := c.Enqueue(login("u")); err != nil {
			t.Fatal(err)
		}
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Fatalf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestStalledServerHitsDeadline: a server that reads the request and never
// answers fails the attempt at Config.Timeout with a deadline error, and
// the retry goes on a new connection.
func TestStalledServerHitsDeadline(t *testing.T) {
	s := newRawSmartID(t, func(n int) rawAnswer {
		if n == 1 {
			return rawAnswer{stall: true}
		}
		return rawAnswer{reply: okReply}
	})
	obs := make(reports, 16)
	cfg := rawConfig(s, obs, nil)
	cfg.Timeout = 100 * time.Millisecond
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	rep := obs.next(t)
	if rep.Outcome != OutcomeRetry || !errors.Is(rep.Err, context.DeadlineExceeded) {
		t.Fatalf("report = %+v, want a retry after the deadline", rep)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestCloseDeadlineInterruptsLeanRead: Close's deadline ends an attempt
// stuck on a stalled server at once, long before Config.Timeout.
func TestCloseDeadlineInterruptsLeanRead(t *testing.T) {
	s := newRawSmartID(t, always(rawAnswer{stall: true}))
	obs := make(reports, 16)
	cfg := rawConfig(s, obs, nil)
	cfg.Timeout = MaxTimeout
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	s.next(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "events abandoned: 1") {
		t.Fatalf("Close = %v", err)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeDropped || rep.Reason != ReasonShutdown {
		t.Errorf("report = %+v", rep)
	}
}

// TestIdleConnectionRetired: a connection idle beyond idleTimeout is not
// written to; the event goes on a new one.
func TestIdleConnectionRetired(t *testing.T) {
	s := newRawSmartID(t, always(rawAnswer{reply: okReply}))
	cfg := rawConfig(s, nil, nil)
	cfg = cfg.withDefaults()
	u, _ := parseEndpoint(cfg.Endpoint)
	target := newWireTarget(cfg, u, buildURLs(u, Production), "Bearer "+testLicense, noProxy)
	w := newWireConn(target, context.Background(), cfg, new(atomic.Uint64))
	defer w.close()
	h := target.head(ChannelWeb, KindLogin)
	start := time.Now()
	for _, at := range []time.Time{start, start.Add(time.Second), start.Add(time.Second + idleTimeout + 1)} {
		ex := []exchange{{head: h, body: []byte(`{}`)}}
		if n, _, err := w.send(ex, at); err != nil || n != 1 || ex[0].resp.status != 200 {
			t.Fatalf("send = %d, %+v, %v", n, ex[0].resp, err)
		}
		s.next(t)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: one reused, one after the idle timeout", n)
	}
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// TestSenderChoice: the lean sender is used unless the config needs
// net/http.
func TestSenderChoice(t *testing.T) {
	viaProxy := func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.invalid:3128") }
	tests := []struct {
		name     string
		endpoint string
		client   *http.Client
		proxy    func(*http.Request) (*url.URL, error)
		lean     bool
		addr     string
	}{
		{"http to the loopback", "http://localhost", nil, noProxy, true, "localhost:80"},
		{"https with port", "https://smartid.example.com:8443/x", nil, noProxy, true, "smartid.example.com:8443"},
		{"https default port", "https://[2001:db8::1]", nil, noProxy, true, "[2001:db8::1]:443"},
		{"caller's client", "https://smartid.example.com", &http.Client{}, noProxy, false, ""},
		{"proxy from the environment", "https://smartid.example.com", nil, viaProxy, false, ""},
		{"international name", "https://smartíd.example.com", nil, noProxy, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Endpoint: tt.endpoint, License: testLicense, HTTPClient: tt.client}.withDefaults()
			u, err := parseEndpoint(cfg.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			w := newWireTarget(cfg, u, buildURLs(u, Production), "Bearer x", tt.proxy)
			if (w != nil) != tt.lean {
				t.Fatalf("lean = %v, want %v", w != nil, tt.lean)
			}
			if w != nil && w.addr != tt.addr {
				t.Errorf("addr = %q, want %q", w.addr, tt.addr)
			}
			if w != nil && (w.tls != nil) != (u.Scheme == "https") {
				t.Errorf("tls = %v for %s", w.tls, u.Scheme)
			}
		})
	}
}

// TestLeanTLS: an https endpoint goes over TLS with the configured roots
// on one kept-alive connection, HTTP/1.1 negotiated.
func TestLeanTLS(t *testing.T) {
	var protos sync.Map
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	srv.EnableHTTP2 = true
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	obs := make(reports, 16)
	c := mustNew(t, Config{Endpoint: srv.URL, License: testLicense, ChannelID: 1, Workers: 1, Observer: obs,
		TLSConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}})
	if c.wire == nil || c.wire.tls == nil {
		t.Fatal("https endpoint: lean TLS sender not used")
	}
	for range 3 {
		if err := c.Enqueue(login("u")); err != nil {
			t.Fatal(err)
		}
		if rep := obs.next(t); rep.Outcome != OutcomeSent {
			t.Fatalf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d TLS connections, want 1", n)
	}
	if _, ok := protos.Load("HTTP/1.1"); !ok {
		t.Error("no request over HTTP/1.1")
	}
	if c.http2Only.Load() {
		t.Error("switched to net/http")
	}
}

// TestLeanTLSUnknownAuthority: a certificate the roots do not vouch for
// fails the attempt (retried, then failed), never sends the license.
func TestLeanTLSUnknownAuthority(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached a server with an untrusted certificate")
	}))
	defer srv.Close()
	obs := make(reports, 16)
	c := mustNew(t, Config{Endpoint: srv.URL, License: testLicense, ChannelID: 1, Workers: 1, Observer: obs,
		MaxAttempts: 2, Sleep: (&sleeps{}).sleep})
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Outcome{OutcomeRetry, OutcomeFailed} {
		var unknown x509.UnknownAuthorityError
		if rep := obs.next(t); rep.Outcome != want || !errors.As(rep.Err, &unknown) {
			t.Fatalf("report = %+v, want %s with an unknown authority", rep, want)
		}
	}
}

// TestTLSConfigWithHTTPClientRefused: the two ways to set TLS conflict.
func TestTLSConfigWithHTTPClientRefused(t *testing.T) {
	_, err := New(Config{Endpoint: "https://h", License: testLicense, TLSConfig: &tls.Config{}, HTTPClient: &http.Client{}})
	if err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Fatalf("New = %v", err)
	}
}

// alpnGate stands in for a server that speaks HTTP/2 only: a TLS client
// hello that does not offer h2 gets alert 120 (no_application_protocol);
// one that does reaches the TLS server behind.
type alpnGate struct {
	net.Listener
	refused atomic.Int32
}

func (g *alpnGate) Accept() (net.Conn, error) {
	for {
		conn, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(conn, hdr); err != nil {
			conn.Close()
			continue
		}
		hello := make([]byte, int(hdr[3])<<8|int(hdr[4]))
		if _, err := io.ReadFull(conn, hello); err != nil {
			conn.Close()
			continue
		}
		// net/http offers "h2" then "http/1.1", length-prefixed.
		if !bytes.Contains(hello, []byte("\x02h2\x08http/1.1")) {
			g.refused.Add(1)
			_, _ = conn.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 120})
			conn.Close()
			continue
		}
		return &replayConn{Conn: conn, r: io.MultiReader(bytes.NewReader(append(hdr, hello...)), conn)}, nil
	}
}

type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestHTTP2OnlyServerSwitchesToNetHTTP: a server refusing HTTP/1.1 at the
// handshake gets the same attempt through net/http (HTTP/2), and every
// later event too, with no retry counted.
func TestHTTP2OnlyServerSwitchesToNetHTTP(t *testing.T) {
	var protos sync.Map
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	gate := &alpnGate{Listener: srv.Listener}
	srv.Listener = gate
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	obs := make(reports, 16)
	c := mustNew(t, Config{Endpoint: srv.URL, License: testLicense, ChannelID: 1, Workers: 1, Observer: obs,
		TLSConfig: &tls.Config{RootCAs: roots}})
	for range 2 {
		if err := c.Enqueue(login("u")); err != nil {
			t.Fatal(err)
		}
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Fatalf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !c.http2Only.Load() {
		t.Error("client did not switch to net/http")
	}
	if n := gate.refused.Load(); n != 1 {
		t.Errorf("%d HTTP/1.1-only handshakes, want 1", n)
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok {
		t.Error("no request over HTTP/2")
	}
	if st := c.Stats(); st.Sent != 2 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// pipelineServer takes one connection's first request and holds its
// answer until release is closed; then it reads batch requests before
// answering any of them (a client that waits for each answer would stall
// here), and answers them with answer. Later connections get one answer
// per request.
type pipelineServer struct {
	ln      net.Listener
	release chan struct{}
	first   chan struct{}
	batch   int
	answer  func(conn net.Conn, paths []string)
	conns   atomic.Int32
	wg      sync.WaitGroup
}

func newPipelineServer(t *testing.T, batch int, answer func(conn net.Conn, paths []string)) *pipelineServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &pipelineServer{ln: ln, release: make(chan struct{}), first: make(chan struct{}), batch: batch, answer: answer}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go s.serve(conn, s.conns.Add(1))
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *pipelineServer) serve(conn net.Conn, n int32) {
	defer s.wg.Done()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	read := func() (string, bool) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return "", false
		}
		_, err = io.Copy(io.Discard, req.Body)
		return req.URL.Path, err == nil
	}
	if n > 1 {
		for {
			if _, ok := read(); !ok {
				return
			}
			if _, err := io.WriteString(conn, okReply); err != nil {
				return
			}
		}
	}
	if _, ok := read(); !ok {
		return
	}
	close(s.first)
	<-s.release
	if _, err := io.WriteString(conn, okReply); err != nil {
		return
	}
	paths := make([]string, 0, s.batch)
	for range s.batch {
		p, ok := read()
		if !ok {
			return
		}
		paths = append(paths, p)
	}
	s.answer(conn, paths)
	for { // whatever follows on this connection: one answer each
		if _, ok := read(); !ok {
			return
		}
		if _, err := io.WriteString(conn, okReply); err != nil {
			return
		}
	}
}

// startPipeline sends one event that the server holds, queues events
// behind it, and releases the first answer: the worker then finds them
// all waiting.
func startPipeline(t *testing.T, s *pipelineServer, obs reports, timeout time.Duration, events ...Event) *Client {
	t.Helper()
	c := mustNew(t, Config{Endpoint: "http://" + s.ln.Addr().String(), License: testLicense, ChannelID: 1,
		Workers: 1, Observer: obs, Sleep: (&sleeps{}).sleep, Timeout: timeout})
	if err := c.Enqueue(login("first")); err != nil {
		t.Fatal(err)
	}
	<-s.first
	for _, ev := range events {
		if err := c.Enqueue(ev); err != nil {
			t.Fatal(err)
		}
	}
	close(s.release)
	if rep := obs.next(t); rep.Outcome != OutcomeSent {
		t.Fatalf("first event: %+v", rep)
	}
	return c
}

func statusReply(code int) string {
	return "HTTP/1.1 " + strconv.Itoa(code) + " X\r\nContent-Length: 2\r\n\r\n{}"
}

// TestPipelinedBurst: events waiting in the queue go in one write and
// each is settled by its own answer, in order: a 503 is retried (on its
// own), a 400 fails, the others are sent.
func TestPipelinedBurst(t *testing.T) {
	s := newPipelineServer(t, 5, func(conn net.Conn, paths []string) {
		var out strings.Builder
		for _, p := range paths {
			switch path.Base(p) {
			case "logout":
				out.WriteString(statusReply(503))
			case "operation":
				out.WriteString(statusReply(400))
			default:
				out.WriteString(statusReply(200))
			}
		}
		_, _ = io.WriteString(conn, out.String())
	})
	obs := make(reports, 32)
	c := startPipeline(t, s, obs, 10*time.Second, login("a"), Logout{User: "b", Session: "s"}, login("c"),
		&Operation{Timestamp: time.Unix(0, 0)}, login("d"))
	got := map[string]int{}
	for range 6 { // 3 logins sent, logout retry and sent, operation failed
		rep := obs.next(t)
		got[fmt.Sprintf("%s %s %d %d", rep.Event, rep.Outcome, rep.Attempt, rep.Status)]++
	}
	want := map[string]int{"login sent 1 200": 3, "logout retry 1 503": 1, "logout sent 2 200": 1, "operation failed 1 400": 1}
	if !maps.Equal(got, want) {
		t.Errorf("reports = %v\nwant      %v", got, want)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 5 || st.Failed != 1 || st.Retries != 1 {
		t.Errorf("stats = %+v", st)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if c.noPipeline.Load() {
		t.Error("pipelining switched off")
	}
}

// TestPipelineDropped: a server that answers the first request of a
// pipeline and closes the connection without a word loses nothing: the
// unanswered events go again on their own (no retry counted) and the
// client stops pipelining.
func TestPipelineDropped(t *testing.T) {
	s := newPipelineServer(t, 3, func(conn net.Conn, _ []string) {
		_, _ = io.WriteString(conn, okReply)
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	obs := make(reports, 32)
	c := startPipeline(t, s, obs, 10*time.Second, login("a"), login("b"), login("c"))
	for range 3 {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 4 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !c.noPipeline.Load() {
		t.Error("pipelining still on after the server dropped one")
	}
}

// TestPipelineConnectionClose: a server that says Connection: close in
// the middle of a pipeline (a keep-alive request limit) ends it there; the
// rest go again and pipelining stays on.
func TestPipelineConnectionClose(t *testing.T) {
	s := newPipelineServer(t, 3, func(conn net.Conn, _ []string) {
		_, _ = io.WriteString(conn, okReply+"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		conn.Close()
	})
	obs := make(reports, 32)
	c := startPipeline(t, s, obs, 10*time.Second, login("a"), login("b"), login("c"))
	for range 3 {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 4 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
	if c.noPipeline.Load() {
		t.Error("pipelining switched off by an announced close")
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestBurstEveryEventOnce: a burst through several workers (pipelines of
// many sizes) reaches net/http's server exactly once per event.
func TestBurstEveryEventOnce(t *testing.T) {
	srv := newOnceServer(t, nil)
	c := mustNew(t, Config{Endpoint: srv.URL, License: testLicense, ChannelID: 1, QueueSize: 4096})
	const n = 3000
	for i := range n {
		if err := c.Enqueue(login(fmt.Sprint("u", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != n || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
	srv.checkEachOnce(t, n)
}

// TestPipelineToSlowServer: a server that takes a while over each request
// answers a pipeline's last request long after the first; each answer
// gets its own timeout, so none is given up (and sent twice) because the
// ones before it took time.
func TestPipelineToSlowServer(t *testing.T) {
	const each, timeout = 150 * time.Millisecond, time.Second
	s := newPipelineServer(t, 10, func(conn net.Conn, paths []string) {
		for range paths {
			time.Sleep(each)
			if _, err := io.WriteString(conn, okReply); err != nil {
				return
			}
		}
	})
	obs := make(reports, 32)
	events := make([]Event, 10)
	for i := range events {
		events[i] = login(fmt.Sprint("u", i))
	}
	c := startPipeline(t, s, obs, timeout, events...)
	for range events {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 11 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestNoPipelineAfterClose: Close's drain sends one event per request, so
// at most one per worker is in doubt if its deadline passes.
func TestNoPipelineAfterClose(t *testing.T) {
	s := newPipelineServer(t, 2, func(conn net.Conn, _ []string) {
		_, _ = io.WriteString(conn, okReply+okReply)
	})
	obs := make(reports, 32)
	c := mustNew(t, Config{Endpoint: "http://" + s.ln.Addr().String(), License: testLicense, ChannelID: 1,
		Workers: 1, Observer: obs, Sleep: (&sleeps{}).sleep, Timeout: 300 * time.Millisecond, MaxAttempts: 1})
	if err := c.Enqueue(login("first")); err != nil {
		t.Fatal(err)
	}
	<-s.first
	for _, u := range []string{"a", "b"} {
		if err := c.Enqueue(login(u)); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(context.Background()) }()
	for !c.isStopping() {
		runtime.Gosched()
	}
	close(s.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	// The server waits for two requests before answering either: sent one
	// at a time, the second event's answer never comes in time.
	if st := c.Stats(); st.Sent != 2 || st.Failed != 1 {
		t.Errorf("stats = %+v, want the first and one more sent, one failed", st)
	}
}

// TestLeanRefusedConnection: a refused dial is a retryable transport
// error on the lean sender too.
func TestLeanRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	obs := make(reports, 8)
	c := mustNew(t, Config{Endpoint: "http://" + closed, License: testLicense, ChannelID: 1, Workers: 1,
		Observer: obs, MaxAttempts: 2, Sleep: (&sleeps{}).sleep})
	if c.wire == nil {
		t.Fatal("lean sender not used")
	}
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Outcome{OutcomeRetry, OutcomeFailed} {
		rep := obs.next(t)
		if rep.Outcome != want || rep.Status != 0 || !errors.Is(rep.Err, syscall.ECONNREFUSED) {
			t.Errorf("report = %+v, want %s after a refused connection", rep, want)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Failed != 1 || st.Retries != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// scriptedConn is a connection whose reads return the given chunks in
// turn, and which counts read-deadline renewals.
type scriptedConn struct {
	net.Conn  // unused methods panic
	chunks    [][]byte
	deadlines int
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *scriptedConn) SetReadDeadline(time.Time) error { c.deadlines++; return nil }
func (c *scriptedConn) Close() error                    { return nil }

// readScripted reads three answers served as chunks and returns how many
// times the read deadline was renewed.
func readScripted(t *testing.T, chunks ...string) int {
	t.Helper()
	cfg := Config{Timeout: time.Second}
	w := newWireConn(&wireTarget{}, context.Background(), cfg, new(atomic.Uint64))
	conn := &scriptedConn{}
	for _, c := range chunks {
		conn.chunks = append(conn.chunks, []byte(c))
	}
	w.conn, w.src.conn, w.stop = conn, conn, func() bool { return true }
	w.br.Reset(&w.src)
	h := &requestHead{url: "http://smartid.test/api/v5/analytics/web/login"}
	ex := []exchange{{head: h}, {head: h}, {head: h}}
	if n, broken, err := w.read(ex); n != 3 || broken || err != nil {
		t.Fatalf("read = %d, %v, %v", n, broken, err)
	}
	return conn.deadlines
}

// TestAnswersTogetherNoDeadlineRenewal: answers that arrive together are
// parsed from the buffer without renewing the read deadline for each;
// answers that arrive one by one renew it before each later one is read.
func TestAnswersTogetherNoDeadlineRenewal(t *testing.T) {
	if n := readScripted(t, okReply+okReply+okReply); n != 0 {
		t.Errorf("%d deadline renewals for answers read together, want 0", n)
	}
	if n := readScripted(t, okReply, okReply, okReply); n != 2 {
		t.Errorf("%d deadline renewals for answers read one by one, want 2", n)
	}
}
