package rules

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"

	"github.com/login-guard/login_guard/internal/benchcpu"
	"github.com/login-guard/login_guard/rules/counter"
)

func benchPolicy(b *testing.B, maxKeys int, lines ...[]string) *Policy {
	b.Helper()
	m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: maxKeys})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPolicy(PolicyConfig{Scope: "login", Store: m, Rules: mustRules(b, lines...)})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkEvaluateRateExistingKey: one rate rule, one hot key, under its
// limit (the window is short so the key's log stays small).
func BenchmarkEvaluateRateExistingKey(b *testing.B) {
	p := benchPolicy(b, 100_000, []string{"rate", "ip", "10000/1s"})
	a := attempt("jlopez", "203.0.113.7")
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		p.Evaluate(bg, a, nil)
	}
}

func BenchmarkEvaluateRateIPUserExistingKey(b *testing.B) {
	p := benchPolicy(b, 100_000, []string{"rate", "ip_user", "10000/1s"})
	a := attempt("JLopez", "2001:db8::7")
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		p.Evaluate(bg, a, nil)
	}
}

// BenchmarkEvaluateRateNewKey: every attempt from a new address, into a
// full store (each also evicts one key).
func BenchmarkEvaluateRateNewKey(b *testing.B) {
	p := benchPolicy(b, 10_000, []string{"rate", "ip", "5/1m"})
	a := attempt("", "10.0.0.0")
	b.ReportAllocs()
	benchcpu.PerOp(b)
	i := uint32(0)
	for b.Loop() {
		i++
		a.IP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		p.Evaluate(bg, a, nil)
	}
}

func BenchmarkEvaluateLockoutAndObserve(b *testing.B) {
	p := benchPolicy(b, 100_000, []string{"lockout", "ip_user", "5/10m", "for", "15m"})
	a := attempt("jlopez", "203.0.113.7")
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		_, tk := p.Evaluate(bg, a, nil)
		p.Observe(bg, tk, OutcomeSuccess)
	}
}

func BenchmarkEvaluateWhen(b *testing.B) {
	p := benchPolicy(b, 100_000,
		[]string{"when", `!ip_in(ip, "10.0.0.0/8") && user == "admin" && assertion != "valid"`, "deny", "admin_outside"})
	a := attempt("admin", "203.0.113.7")
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		p.Evaluate(bg, a, nil)
	}
}

func BenchmarkEvaluateWhenHeadersCounters(b *testing.B) {
	p := benchPolicy(b, 100_000, []string{"rate", "ip", "10000/1s"},
		[]string{"when", `counters["rate_ip"] > 100 || headers["x-client"] == "bot"`, "challenge", "busy"})
	a := attempt("u", "203.0.113.7")
	a.Header = http.Header{"X-Client": {"web"}, "Accept": {"*/*"}}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		p.Evaluate(bg, a, nil)
	}
}

func BenchmarkEvaluateFullPolicy(b *testing.B) {
	p := benchPolicy(b, 100_000,
		[]string{"deny_ip", "192.0.2.0/24"},
		[]string{"rate", "ip", "10000/1s"},
		[]string{"rate", "ip_user", "10000/1s"},
		[]string{"spray", "ip", "20/10m"},
		[]string{"lockout", "ip_user", "5/10m", "for", "15m"},
		[]string{"device", "missing", "challenge"},
		[]string{"when", `has_score && score > 0.9`, "deny", "high_score"})
	a := attempt("jlopez", "203.0.113.7")
	sig := &Signals{Score: 0.2, HasScore: true}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		_, tk := p.Evaluate(bg, a, sig)
		p.Observe(bg, tk, OutcomeSuccess)
	}
}

// BenchmarkEvaluateGuardedLoginRules is the rule set of the login route's
// BenchmarkGuardedLoginRules (caddymodule/login), from 4096 client
// addresses, each attempt settled as a success.
func BenchmarkEvaluateGuardedLoginRules(b *testing.B) {
	p, as := guardedLoginRules(b)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	i := 0
	for b.Loop() {
		v, tk := p.Evaluate(bg, as[i&4095], nil)
		i++
		if v.Action != Allow {
			b.Fatal(v)
		}
		p.Observe(bg, tk, OutcomeSuccess)
	}
}

// BenchmarkEvaluateIntoGuardedLoginRules is the same as the login route
// runs it: the verdict and the ticket kept by the caller (EvaluateInto).
func BenchmarkEvaluateIntoGuardedLoginRules(b *testing.B) {
	p, as := guardedLoginRules(b)
	var reasons [4]string
	var tk Ticket
	b.ReportAllocs()
	benchcpu.PerOp(b)
	i := 0
	for b.Loop() {
		v := Verdict{Reasons: reasons[:0]}
		held := p.EvaluateInto(bg, as[i&4095], nil, &v, &tk)
		i++
		if v.Action != Allow || held != &tk {
			b.Fatal(v)
		}
		p.Observe(bg, &tk, OutcomeSuccess)
	}
}

// guardedLoginRules is the login route's rule set of
// BenchmarkGuardedLoginRules (caddymodule/login) and 4096 attempts from
// as many client addresses.
func guardedLoginRules(b *testing.B) (*Policy, []*Attempt) {
	p := benchPolicy(b, 100_000,
		[]string{"rate", "ip", "10000/1m", "deny"},
		[]string{"lockout", "ip_user", "5/15m", "for", "30m", "challenge"},
		[]string{"device", "missing", "challenge"},
		[]string{"when", `ip_in(ip, "192.0.2.0/24") && user_agent == ""`, "deny"})
	as := make([]*Attempt, 4096)
	for i := range as {
		as[i] = attempt("jlopez", "10.0."+strconv.Itoa(i>>8)+"."+strconv.Itoa(i&255))
		as[i].UserAgent = "Mozilla/5.0"
	}
	return p, as
}

// BenchmarkEvaluateIntoRateLimited is a client over a rate limit, as the
// login route evaluates it.
func BenchmarkEvaluateIntoRateLimited(b *testing.B) {
	p := benchPolicy(b, 100_000, []string{"rate", "ip", "1/1h", "deny"})
	a := attempt("jlopez", "203.0.113.7")
	var reasons [4]string
	p.EvaluateInto(bg, a, nil, &Verdict{}, nil)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		v := Verdict{Reasons: reasons[:0]}
		if p.EvaluateInto(bg, a, nil, &v, nil) != nil || v.Action != Deny {
			b.Fatal(v)
		}
	}
}

func BenchmarkNormalizeUserASCII(b *testing.B) {
	var n Normalizer
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		_ = n.User("JLopez ")
	}
}

func BenchmarkNormalizeUserUnicode(b *testing.B) {
	var n Normalizer
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		_ = n.User("José.Núñez ")
	}
}

func BenchmarkNormalizeIPv6(b *testing.B) {
	var n Normalizer
	a := netip.MustParseAddr("2001:db8:1:2:aaaa:bbbb:cccc:dddd")
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		_ = n.IP(a)
	}
}
