package login

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestAuditLineFields: the audit line's first fields are the route, the
// event and the action, in that order and once each, whatever the action
// (they are encoded once per route and action, not per line), and the
// route's other logs do not carry them.
func TestAuditLineFields(t *testing.T) {
	var buf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	logger := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zap.InfoLevel))
	h := &Handler{Name: "login", Event: EventLogin, DenyIP: []string{"203.0.113.0/24"}}
	if err := h.provision(testApp(t), logger); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ip, want string
	}{
		{"203.0.113.9", `"msg":"login_guard","route":"login","event":"login","action":"deny","reasons":["ip_denied"],"ip":"203.0.113.9",`},
		{"198.51.100.7", `"msg":"login_guard","route":"login","event":"login","action":"allow","reasons":[],"ip":"198.51.100.7",`},
		{"203.0.113.10", `"msg":"login_guard","route":"login","event":"login","action":"deny","reasons":["ip_denied"],"ip":"203.0.113.10",`},
	} {
		buf.Reset()
		br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, c.ip)
		_ = h.ServeHTTP(newBenchWriter(), br.next(), upstreamOK)
		var audit string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if strings.Contains(line, `"msg":"login_guard"`) {
				if audit != "" {
					t.Fatalf("two audit lines:\n%s\n%s", audit, line)
				}
				audit = line
			}
		}
		if !strings.Contains(audit, c.want) {
			t.Errorf("audit line\n%s\nwant it to contain\n%s", audit, c.want)
		}
		for _, k := range []string{`"route":`, `"event":`, `"action":`} {
			if n := strings.Count(audit, k); n != 1 {
				t.Errorf("%s appears %d times in %s", k, n, audit)
			}
		}
	}
}
