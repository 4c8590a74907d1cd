package request

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

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
