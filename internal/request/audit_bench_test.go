package request

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/benchcpu"
	"github.com/login-guard/login_guard/internal/testkit/testkeys"
	"github.com/login-guard/login_guard/rules"
)

// BenchmarkFinish is the audit line and the decision counter of a denied
// login: what every guarded request pays at its end, encoded by zap's
// JSON encoder into a discarding sink.
func BenchmarkFinish(b *testing.B) {
	ks := testkeys.Keyset(b, time.Now())
	a := app.Standalone(ks, time.Hour)
	if err := a.CountIn(prometheus.NewRegistry()); err != nil {
		b.Fatal(err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	rt := &Route{Name: "login", NameValue: "login", Event: EventLogin, LogUser: "plain", App: a,
		Logger: zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))}
	r := httptest.NewRequest("POST", "/api/login", nil)
	var x Exchange
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		x = Exchange{Route: rt, Start: time.Now(), IPText: "198.51.100.7"}
		x.Verdict.Reasons = x.reasonBuf[:0]
		x.Attempt = rules.Attempt{User: "jlopez", IP: netip.MustParseAddr("198.51.100.7"), DevicePresent: true}
		x.Verdict.Add(rules.Deny, rules.ReasonIPDenied)
		x.Finish(r)
	}
}

// BenchmarkFinishToAccessLog is BenchmarkFinish with audit_line
// access_log: the values copied out of the exchange and added to the
// request's access log fields (which Caddy encodes with its access line,
// outside this benchmark). The requests, each with the fields holder
// Caddy makes for every request, are built a batch at a time with the
// timer stopped.
func BenchmarkFinishToAccessLog(b *testing.B) {
	ks := testkeys.Keyset(b, time.Now())
	a := app.Standalone(ks, time.Hour)
	if err := a.CountIn(prometheus.NewRegistry()); err != nil {
		b.Fatal(err)
	}
	rt := &Route{Name: "login", NameValue: "login", Event: EventLogin, LogUser: "plain", App: a, AuditToAccessLog: true,
		Logger: zap.NewNop()}
	srv := &caddyhttp.Server{Logs: &caddyhttp.ServerLogConfig{}}
	base := httptest.NewRequest("POST", "/api/login", nil)
	reqs := make([]*http.Request, 1024)
	next := len(reqs)
	var x Exchange
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if next == len(reqs) {
			b.StopTimer()
			for i := range reqs {
				ctx := context.WithValue(context.WithValue(base.Context(), caddyhttp.ServerCtxKey, srv),
					caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields))
				reqs[i] = base.WithContext(ctx)
			}
			next = 0
			b.StartTimer()
		}
		x = Exchange{Route: rt, Start: time.Now(), IPText: "198.51.100.7"}
		x.Verdict.Reasons = x.reasonBuf[:0]
		x.Attempt = rules.Attempt{User: "jlopez", IP: netip.MustParseAddr("198.51.100.7"), DevicePresent: true}
		x.Verdict.Add(rules.Deny, rules.ReasonIPDenied)
		x.Finish(reqs[next])
		next++
	}
}
