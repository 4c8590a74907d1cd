package smartid

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// The lean sender. SmartID costs the guard one POST per event (the API
// takes one event per request), and net/http's client spends most of a
// small POST's CPU on its own machinery: a goroutine hand-off to the
// connection's writer and reader, header maps, a response object per
// event. Each worker instead owns one kept-alive HTTP/1.1 connection and
// writes a request built from a template in one write, then reads the
// answer with a strict, bounded parser (response.go). Events already
// queued go out back to back in that write and their answers are read in
// order (pipelining, worker.go). A POST is not idempotent (RFC 9112
// §9.3.2), so every answer is matched to its event, an event left without
// an answer is sent again on its own, and a server that drops a pipeline
// turns pipelining off for the client.
//
// The bytes on the wire are exactly those net/http writes for the same
// request, header order included, so SmartID sees no difference.

// idleTimeout retires a connection unused for this long instead of
// writing to it: a middlebox may have dropped it silently. It is
// net/http's default transport's IdleConnTimeout.
const idleTimeout = 90 * time.Second

// userAgent and acceptEncoding are what net/http's transport adds to the
// same request.
const (
	userAgent      = "Go-http-client/1.1"
	acceptEncoding = "gzip"
)

// wireTarget is the shared, read-only part of the lean sender, built by
// New: where to dial and the request heads of the six endpoints.
type wireTarget struct {
	addr   string      // host:port to dial
	tls    *tls.Config // nil for http
	heads  [2][3]requestHead
	suffix []byte // the header fields after Content-Length, and the blank line
}

// requestHead is the start of one endpoint's request, up to the
// Content-Length value, and its URL for error messages.
type requestHead struct {
	prefix []byte
	url    string
}

// newWireTarget returns the lean sender's target, or nil when the
// endpoint needs something only net/http does: a caller's http.Client
// (its transport, proxy or redirect policy are the caller's), a proxy
// from the environment, or a host name that is not plain ASCII (net/http
// converts international names). An HTTP/2-only server is found out at
// the TLS handshake (see wireConn.dial) and switches the client to
// net/http then.
func newWireTarget(cfg Config, base *url.URL, urls map[ChannelKind][3]string, bearer string,
	proxy func(*http.Request) (*url.URL, error)) *wireTarget {
	if cfg.HTTPClient != nil {
		return nil
	}
	if p, err := proxy(&http.Request{URL: base}); p != nil || err != nil {
		return nil
	}
	host := base.Host
	for i := 0; i < len(host); i++ {
		if host[i] <= ' ' || host[i] >= 0x7f || host[i] == '%' {
			return nil
		}
	}
	t := &wireTarget{addr: host}
	port := base.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[base.Scheme]
		t.addr = net.JoinHostPort(base.Hostname(), port)
	}
	if base.Scheme == "https" {
		t.tls = leanTLSConfig(cfg.TLSConfig, base.Hostname())
	}
	for ci, ch := range []ChannelKind{ChannelWeb, ChannelApp} {
		for ki, u := range urls[ch] {
			pu, err := url.Parse(u)
			if err != nil {
				return nil
			}
			t.heads[ci][ki] = requestHead{
				prefix: fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nContent-Length: ",
					pu.RequestURI(), host, userAgent),
				url: u,
			}
		}
	}
	t.suffix = fmt.Appendf(nil, "\r\nAuthorization: %s\r\nContent-Type: application/json\r\nAccept-Encoding: %s\r\n\r\n",
		bearer, acceptEncoding)
	return t
}

// leanTLSConfig is the caller's TLS settings (or the system roots) for
// HTTP/1.1 only.
func leanTLSConfig(base *tls.Config, serverName string) *tls.Config {
	c := &tls.Config{}
	if base != nil {
		c = base.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = serverName
	}
	c.NextProtos = []string{"http/1.1"}
	return c
}

// appendRequest appends the whole request for one event: h's head, the
// body's length, the fixed header fields and the body.
func (t *wireTarget) appendRequest(b []byte, h *requestHead, body []byte) []byte {
	b = append(b, h.prefix...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, t.suffix...)
	return append(b, body...)
}

func (t *wireTarget) head(ch ChannelKind, kind EventKind) *requestHead {
	ci := 0
	if ch == ChannelApp {
		ci = 1
	}
	switch kind {
	case KindLogin:
		return &t.heads[ci][0]
	case KindLogout:
		return &t.heads[ci][1]
	default:
		return &t.heads[ci][2]
	}
}

// errHTTP2Only is returned when the server refused HTTP/1.1 at the TLS
// handshake; the client switches to net/http, which can speak HTTP/2.
var errHTTP2Only = errors.New("smartid: server refused HTTP/1.1 (ALPN)")

// refusedALPN reports a handshake the server ended with TLS alert 120,
// no_application_protocol: it speaks none of the protocols offered (here
// HTTP/1.1 alone). crypto/tls reports a peer's alert as a "remote error"
// net.OpError whose alert type is unexported, so its text is compared.
func refusedALPN(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && op.Err != nil &&
		op.Err.Error() == "tls: no application protocol"
}

// wireConn is one worker's connection. Only its worker uses it, so it
// needs no lock; Close's deadline reaches it through runCtx.
type wireConn struct {
	t        *wireTarget
	runCtx   context.Context
	timeout  time.Duration
	raMax    time.Duration // cap of a Retry-After
	conn     net.Conn      // nil until dialled, and after an error
	lowWater lowWater      // conn's socket's SO_RCVLOWAT (see muteAnswers)
	muted    bool          // and it is raised
	br       *bufio.Reader // reads src
	src      answerSource
	buf      []byte    // the requests being written, reused
	lastUsed time.Time // when the connection last finished a request
	stop     func() bool
	writes   *atomic.Uint64 // counted per write of requests
	// sentAt is when the last write started (its timeout runs from
	// then); resendable, that its requests may go once more on a new
	// connection if the kept-alive one turns out closed (see write).
	sentAt     time.Time
	resendable bool

	exchanges []exchange // the worker's reusable batch (see deliverPipelined)
	due       dueAnswers // the worker's batch written and not yet answered
}

// exchange is one request of a write and, once read, its answer.
type exchange struct {
	head *requestHead
	body []byte
	resp response
}

func newWireConn(t *wireTarget, runCtx context.Context, cfg Config, writes *atomic.Uint64) *wireConn {
	return &wireConn{t: t, runCtx: runCtx, timeout: cfg.Timeout, raMax: cfg.BackoffMax, writes: writes,
		br:        bufio.NewReaderSize(nil, 4096),
		src:       answerSource{timeout: cfg.Timeout},
		exchanges: make([]exchange, 0, maxPipeline)}
}

// maxKeptBuffer is the largest request buffer a worker keeps between
// writes; a rare larger one is left to the garbage collector.
const maxKeptBuffer = 128 << 10

// send writes the requests back to back in one write and reads their
// answers in order (write, then read).
func (w *wireConn) send(ex []exchange, start time.Time) (answered int, broken bool, err error) {
	if err := w.write(ex, start); err != nil {
		return 0, false, err
	}
	return w.read(ex)
}

// write writes the requests back to back in one write, on the kept-alive
// connection or a new one, by the timeout from start; read then reads
// their answers. The worker may do other things in between (see
// deliverPipelined): nothing else uses the connection, and the answers
// wait in the socket.
//
// A kept-alive connection the server closed while it was idle fails the
// write, or the read before any byte of the first answer arrives; the
// requests are then sent once more on a new connection at once, as
// net/http does for a connection it finds closed, rather than costing the
// events a backoff.
func (w *wireConn) write(ex []exchange, start time.Time) error {
	w.sentAt = start
	if w.conn != nil && start.Sub(w.lastUsed) > idleTimeout {
		w.close()
	}
	h := ex[0].head
	for try := 0; ; try++ {
		reused := w.conn != nil
		w.resendable = reused && try == 0
		if !reused {
			if err := w.dial(start.Add(w.timeout)); err != nil {
				return w.wrap(h, "dial", err)
			}
		}
		if err := w.conn.SetDeadline(start.Add(w.timeout)); err != nil {
			w.close()
			return w.wrap(h, "write", err)
		}
		// Checked after the deadline is set: a cancellation from now on
		// moves the deadline (see dial), one before is seen here.
		if err := w.runCtx.Err(); err != nil {
			return err
		}
		w.buf = w.buf[:0]
		for i := range ex {
			w.buf = w.t.appendRequest(w.buf, ex[i].head, ex[i].body)
		}
		_, err := w.conn.Write(w.buf)
		w.writes.Add(1)
		if cap(w.buf) > maxKeptBuffer {
			w.buf = nil
		}
		if err == nil {
			return nil
		}
		w.close()
		if !w.resendable || isTimeout(err) || w.runCtx.Err() != nil {
			return w.wrap(h, "write", err)
		}
	}
}

// read reads the answers to the requests write wrote, in order: the first
// within the timeout from the write's start, each later one within the
// timeout after the one before. It returns how many were answered (their
// resp set). When err is set, ex[answered] failed with it. Requests after
// the last answered one and not failed were never answered: the server
// closed the connection (announced by Connection: close, or, when broken
// is set, without a word: it does not pipeline).
func (w *wireConn) read(ex []exchange) (answered int, broken bool, err error) {
	if w.conn == nil {
		// Close's deadline or a failed write ended the connection.
		return 0, false, w.wrap(ex[0].head, "read", cmp.Or(w.runCtx.Err(), net.ErrClosed))
	}
	for {
		if _, err := w.br.Peek(1); err != nil {
			w.close()
			if w.resendable && !isTimeout(err) && w.runCtx.Err() == nil {
				// Closed while idle, before the requests arrived: again on
				// a new connection.
				if err := w.write(ex, w.sentAt); err != nil {
					return 0, false, err
				}
				w.resendable = false
				continue
			}
			return 0, false, w.wrap(ex[0].head, "read", err)
		}
		break
	}
	for i := range ex {
		if i > 0 {
			// Each answer gets the whole timeout: a server works through
			// a pipeline one request after another, so the last answer
			// of a pipeline to a slow server comes late, but not later
			// than each request's own attempt would have. The deadline
			// is renewed when the connection is next read (see
			// answerSource): for an answer that came with the one
			// before, never.
			if err := w.runCtx.Err(); err != nil {
				w.close()
				return i, false, w.wrap(ex[i].head, "read", err)
			}
			w.src.renew, w.src.err = true, nil
			if _, err := w.br.Peek(1); err != nil && !isTimeout(err) && w.runCtx.Err() == nil {
				w.close()
				if w.src.err != nil {
					return i, false, w.wrap(ex[i].head, "read", w.src.err)
				}
				// Closed before answering the next request.
				return i, true, nil
			}
		}
		resp, err := readResponse(w.br, w.raMax)
		w.src.renew = false
		if err != nil {
			w.close()
			return i, false, w.wrap(ex[i].head, "read", err)
		}
		ex[i].resp = resp
		if !resp.keepAlive {
			w.close()
			return i + 1, false, nil
		}
	}
	w.lastUsed = w.sentAt
	return len(ex), false, nil
}

// answerSource is what a wireConn's reader reads: its connection, with
// the read deadline renewed (when renew is set, for a later answer of a
// pipeline) just before the connection is read, not before each answer:
// answers that came together are parsed from the buffer with no timer
// reset each (a fifth of a microsecond apiece, fifteen of them for a full
// pipeline).
type answerSource struct {
	conn    net.Conn
	timeout time.Duration
	renew   bool
	err     error // the renewal's failure, if it failed
}

func (s *answerSource) Read(p []byte) (int, error) {
	if s.renew {
		s.renew = false
		if err := s.conn.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
			s.err = err
			return 0, err
		}
	}
	return s.conn.Read(p)
}

// mutedLowat is the SO_RCVLOWAT of a socket whose answers are read
// later: far more than a batch of SmartID's answers (a few hundred bytes
// each) comes to, so none of them wakes anything; answers beyond it would
// only wake the poller as they do without it. Linux may grow the socket's
// receive buffer to hold the mark (64 KiB is within its default).
const mutedLowat = maxResponseBytes

// muteAnswers keeps the answers to the write just made from waking the
// process as they arrive, when they are to be read later (see
// dueAnswers): a server that flushes each answer on its own (Go's does)
// sends a pipeline's answers in as many packets, and each would wake the
// runtime's poller for nothing, as no goroutine waits on the socket. With
// the socket's low-water mark above what the answers come to, the kernel
// does not report it readable; the answers still wait in it, and readLate
// lowers the mark again before reading them. Only on Linux, which honours
// the mark in epoll; elsewhere the answers wake the poller as before.
func (w *wireConn) muteAnswers() {
	w.muted = w.lowWater.set(mutedLowat) == nil
}

// readLate is read for answers read some time after the write (see
// dueAnswers): answers already waiting in the socket are read even when
// the write's timeout has passed meanwhile, so the first answer may take
// up to the timeout from when the reading starts. A muted socket is
// unmuted first: a read that finds nothing there yet waits for the
// socket to be readable, which would not come before mutedLowat bytes.
func (w *wireConn) readLate(ex []exchange) (answered int, broken bool, err error) {
	if w.muted {
		w.muted = false
		if err := w.lowWater.set(1); err != nil {
			w.close()
			return 0, false, w.wrap(ex[0].head, "read", err)
		}
	}
	if now := time.Now(); w.conn != nil && now.After(w.sentAt.Add(w.timeout)) {
		if err := w.conn.SetReadDeadline(now.Add(w.timeout)); err != nil {
			w.close()
			return 0, false, w.wrap(ex[0].head, "read", err)
		}
	}
	return w.read(ex)
}

// dial opens the connection (TLS included) by deadline, and arranges that
// Close's deadline (runCtx) interrupts whatever the connection is doing.
func (w *wireConn) dial(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(w.runCtx, deadline)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", w.t.addr)
	if err != nil {
		return err
	}
	tcp := conn
	if w.t.tls != nil {
		tc := tls.Client(conn, w.t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			if refusedALPN(err) {
				return fmt.Errorf("%w: %w", errHTTP2Only, err)
			}
			return err
		}
		conn = tc
	}
	w.conn, w.src.conn = conn, conn
	w.lowWater.use(tcp) // the TCP socket, under TLS if any
	w.br.Reset(&w.src)
	w.stop = context.AfterFunc(w.runCtx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (w *wireConn) close() {
	if w.conn == nil {
		return
	}
	w.stop()
	_ = w.conn.Close()
	w.conn, w.src.conn, w.src.renew, w.muted = nil, nil, false, false
	w.lowWater.use(nil)
	w.br.Reset(nil)
}

// wrap names the endpoint and the step that failed. A deadline is
// reported as context.DeadlineExceeded, as net/http reports it, unless
// Close's deadline caused it.
func (w *wireConn) wrap(h *requestHead, op string, err error) error {
	if ctxErr := w.runCtx.Err(); ctxErr != nil {
		return fmt.Errorf("smartid: POST %s: %s: %w", h.url, op, ctxErr)
	}
	if isTimeout(err) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("smartid: POST %s: %s: %w (%w)", h.url, op, context.DeadlineExceeded, err)
	}
	return fmt.Errorf("smartid: POST %s: %s: %w", h.url, op, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}
