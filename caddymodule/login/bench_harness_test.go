package login

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/internal/benchcpu"
	"github.com/login-guard/login_guard/upstreamsig"
)

// cpuPerOp reports CPU time per op (see package benchcpu): the figure the
// targets are read against on a shared machine.
func cpuPerOp(b *testing.B) { benchcpu.PerOp(b) }

// The guard's benchmarks measure the guard, not the benchmark: each builds
// its request once, outside the timed loop, and rewinds it per iteration
// (body, guard headers, cookies); the response goes to a writer whose
// header map is reused; and the audit line is encoded by a real zap JSON
// encoder into a discarding sink, as a production logger would.

// benchLogger encodes every line as JSON and throws the bytes away.
func benchLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
}

// benchHandler is testHandler with the benchmark logger and the app's
// metrics registered, so the decision counter is paid as in production.
func benchHandler(tb testing.TB, h *Handler) *Handler {
	tb.Helper()
	a := testApp(tb)
	if err := a.CountIn(prometheus.NewRegistry()); err != nil {
		tb.Fatal(err)
	}
	if err := h.provision(a, benchLogger()); err != nil {
		tb.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		tb.Fatal(err)
	}
	return h
}

// rewindBody is a request body that can be replayed without allocating.
type rewindBody struct{ strings.Reader }

func (*rewindBody) Close() error { return nil }

// benchRequest is one request, as Caddy's server hands it to a handler
// (with a replacer and the client IP variable), reusable across
// iterations.
type benchRequest struct {
	r      *http.Request
	body   *rewindBody
	raw    string
	cookie string // Cookie header value, restored per iteration
	// headers is how many header names the request has before a pass
	// (the Cookie header included when cookie is set).
	headers int
}

func newBenchRequest(method, target, ctype, body, clientIP string) *benchRequest {
	r := httptest.NewRequest(method, target, nil)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: clientIP})
	br := &benchRequest{r: r.WithContext(ctx), body: new(rewindBody), raw: body, headers: len(r.Header)}
	return br
}

// setIP changes the client address the request comes from.
func (br *benchRequest) setIP(ip any) {
	caddyhttp.SetVar(br.r.Context(), caddyhttp.ClientIPVarKey, ip)
}

// next rewinds the request for another pass through the handler.
func (br *benchRequest) next() *http.Request {
	r := br.r
	if br.raw == "" {
		r.Body, r.ContentLength = http.NoBody, 0
	} else {
		br.body.Reset(br.raw)
		r.Body, r.ContentLength = br.body, int64(len(br.raw))
	}
	// Undo what a pass may have added to the request (the signed upstream
	// headers): a few deletes, not the guard's own strip, whose cost is
	// the guard's and is already measured inside ServeHTTP. A request the
	// guard added nothing to (a deny) needs none.
	if len(r.Header) != br.headers {
		for _, k := range guardHeaders {
			delete(r.Header, k)
		}
	}
	if br.cookie != "" {
		r.Header["Cookie"] = []string{br.cookie}
		br.headers = max(br.headers, len(r.Header))
	}
	return r
}

var guardHeaders = []string{upstreamsig.HeaderAction, upstreamsig.HeaderScore, upstreamsig.HeaderReasons,
	upstreamsig.HeaderRoute, upstreamsig.HeaderTime, upstreamsig.HeaderUser, upstreamsig.HeaderSignature}

// benchWriter is a ResponseWriter that keeps its header map across
// iterations and discards the body.
type benchWriter struct {
	h    http.Header
	code int
}

func newBenchWriter() *benchWriter { return &benchWriter{h: make(http.Header, 8)} }

func (w *benchWriter) reset() *benchWriter {
	clear(w.h)
	w.code = 0
	return w
}
func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
