package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/internal/request"
)

// rulesRequest is newRequest() from a chosen client address.
func rulesRequest(ip, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", "Mozilla/5.0")
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip})
	return r.WithContext(ctx)
}

func rulesHandler(b *testing.B, rs ...string) *Handler {
	h := benchHandler(b, &Handler{Name: "bench-login", Event: EventLogin, RuleOptions: request.RuleOptions{Rules: rs}})
	b.Cleanup(func() { _ = h.Cleanup() })
	return h
}

// typicalRules is the rule set of the rule benchmarks: a portal's login
// route as the docs suggest it.
var typicalRules = []string{
	"rate ip 10000/1m deny",
	"lockout ip_user 5/15m for 30m challenge",
	"device missing challenge",
	`when "ip_in(ip, \"192.0.2.0/24\") && user_agent == \"\"" deny`,
}

// BenchmarkGuardedLoginRules is a login that passes through a typical rule
// set: a rate limit and a lockout on the shared store (the lockout slot
// reserved, then settled by the upstream's success), a device check and a
// when expression. Clients come from 4096 addresses so the store holds
// many keys, as it would in production.
func BenchmarkGuardedLoginRules(b *testing.B) {
	// Boxed once: Caddy's server sets the variable per request itself,
	// so boxing it here would be the benchmark's cost, not the guard's.
	ips := make([]any, 4096)
	for i := range ips {
		ips[i] = "10.0." + strconv.Itoa(i>>8) + "." + strconv.Itoa(i&255)
	}
	benchRuleLogins(b, ips, nil)
}

// BenchmarkGuardedLoginWave is BenchmarkGuardedLoginRules in a
// credential-stuffing wave: every login a new user from a new address,
// through more addresses than the store holds, so each one makes its
// counters (a rate key and a lockout key) and evicts the least recently
// used to make room, as under a real wave.
func BenchmarkGuardedLoginWave(b *testing.B) {
	const n = 1 << 17 // more than DefaultMaxKeys
	ips, bodies := make([]any, n), make([]string, n)
	_, rest, _ := strings.Cut(benchForm, "&")
	for i := range n {
		ips[i] = "10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
		bodies[i] = "username=w" + strconv.Itoa(i) + "&" + rest
	}
	benchRuleLogins(b, ips, bodies)
}

// benchRuleLogins passes logins through typicalRules, the i-th from
// ips[i] (cycling; len a power of two) with bodies[i] (benchForm when
// bodies is nil).
func benchRuleLogins(b *testing.B, ips []any, bodies []string) {
	h := rulesHandler(b, typicalRules...)
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	mask := len(ips) - 1
	b.ReportAllocs()
	cpuPerOp(b)
	i := 0
	for b.Loop() {
		br.setIP(ips[i&mask])
		if bodies != nil {
			br.raw = bodies[i&mask]
		}
		i++
		if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusSeeOther {
			b.Fatal(err, w.code)
		}
	}
}

// BenchmarkGuardedRateLimited is a client over its limit: the 429 path.
func BenchmarkGuardedRateLimited(b *testing.B) {
	h := rulesHandler(b, "rate ip 1/1h deny")
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	_ = h.ServeHTTP(w.reset(), br.next(), upstreamOK)
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		if err := h.ServeHTTP(w.reset(), br.next(), upstreamOK); err != nil || w.code != http.StatusTooManyRequests {
			b.Fatal(err, w.code)
		}
	}
}
