package rules

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// trackedOf plans r's expression the way an unbounded one runs: with
// run-time cost tracking and the plain ip_in.
func trackedOf(t *testing.T, r *WhenRule) *WhenRule {
	t.Helper()
	env, err := environment()
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(r.src)
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	prg, err := trackedProgram(env, ast)
	if err != nil {
		t.Fatal(err)
	}
	c := *r
	c.prg, c.costBounded = prg, false
	return &c
}

// TestWhenCostBounded: only an expression whose cost cannot grow with its
// input runs untracked.
func TestWhenCostBounded(t *testing.T) {
	cases := []struct {
		expr    string
		bounded bool
	}{
		{`ip_in(ip, "192.0.2.0/24") && user_agent == ""`, true},
		{`!ip_in(ip, "10.0.0.0/8") && user == "admin" && assertion != "valid"`, true},
		{`has_score && score > 0.9`, true},
		{`counters["rate_ip"] > 100 || headers["x-client"] == "bot"`, true},
		{`user_agent == user_raw`, false},
		{`user_agent.contains("curl")`, false},
		{`user_agent.matches("^curl")`, false},
		{`headers.exists(k, k.startsWith("x-"))`, false},
		{`size(user_agent + user_agent) > 10`, false},
		{`"engine_decline" in engine_reasons`, false},
	}
	for _, c := range cases {
		r, err := ParseWhen(c.expr, "deny")
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if r.costBounded != c.bounded {
			t.Errorf("%s: cost bounded = %v, want %v", c.expr, r.costBounded, c.bounded)
		}
	}
}

// TestWhenUntrackedWithinLimit: a bounded expression fed the largest
// values a request can carry stays within the limit when its cost is
// tracked, so running it untracked skips no refusal.
func TestWhenUntrackedWithinLimit(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	a := baseAttempt()
	a.UserAgent, a.User = huge, huge
	a.Header = http.Header{"X-Client": {huge}}
	for _, expr := range []string{
		`ip_in(ip, "192.0.2.0/24") || user_agent == "curl/8"`,
		`user == "admin" && user_raw != "x" && headers["x-client"] == "bot"`,
		`user_agent != "" && user_agent >= "Mozilla"`,
	} {
		r, err := ParseWhen(expr, "deny")
		if err != nil {
			t.Fatal(err)
		}
		if !r.costBounded {
			t.Fatalf("%s: not cost bounded", expr)
		}
		subj := subjects{a: a, norm: &Normalizer{}}
		if _, err := trackedOf(t, r).eval(&activation{a: a, subj: subj}); err != nil {
			t.Errorf("%s, tracked, on huge values: %v", expr, err)
		}
	}
	// The unbounded one is still stopped.
	r, err := ParseWhen(`user_agent.contains("zz") || user_raw.contains("zz")`, "deny")
	if err != nil {
		t.Fatal(err)
	}
	subj := subjects{a: a, norm: &Normalizer{}}
	if _, err := r.eval(&activation{a: a, subj: subj}); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("unbounded expression on huge values: %v, want a cost limit error", err)
	}
}

// TestWhenIPInConstRange: ip_in with its range parsed at compile time
// (and reading the attempt's address directly) answers exactly as the
// plain function over the ip string does.
func TestWhenIPInConstRange(t *testing.T) {
	addrs := []string{"", "192.0.2.1", "192.0.2.255", "192.0.3.0", "10.0.0.1", "::ffff:192.0.2.9",
		"::ffff:10.1.1.1", "2001:db8::1", "2001:db8:1::1", "fe80::1%eth0", "::1", "0.0.0.0", "::"}
	exprs := []string{
		`ip_in(ip, "192.0.2.0/24")`,
		`!ip_in(ip, "10.0.0.0/8") && user_agent != ""`,
		`ip_in(ip, "2001:db8::/32") || ip_in(ip, "::ffff:192.0.2.0/120")`,
		`ip_in(ip, "fe80::/10")`,
		`ip_in(ip, "192.0.2.1")`,
		`ip_in(ip, "0.0.0.0/0")`,
		`ip_in(headers["x-real-ip"], "192.0.2.0/24")`,
		// The iteration variable shadows ip: its value is tested, not the
		// attempt's address.
		`["192.0.2.7", "bogus"].exists(ip, ip_in(ip, "192.0.2.0/24"))`,
		`["10.0.0.1"].all(ip, !ip_in(ip, "192.0.2.0/24"))`,
	}
	for _, expr := range exprs {
		fast, err := ParseWhen(expr, "deny")
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if !fast.costBounded {
			t.Fatalf("%s: not cost bounded, the fast path is not under test", expr)
		}
		slow := trackedOf(t, fast)
		for _, s := range addrs {
			a := baseAttempt()
			if s != "" {
				a.IP = netip.MustParseAddr(s)
			} else {
				a.IP = netip.Addr{}
			}
			a.Header = http.Header{"X-Real-Ip": {s}}
			subj := subjects{a: a, norm: &Normalizer{}}
			got, err1 := fast.eval(&activation{a: a, subj: subj})
			want, err2 := slow.eval(&activation{a: a, subj: subj})
			if got != want || (err1 == nil) != (err2 == nil) {
				t.Errorf("%s with ip %q: fast %v, %v; plain %v, %v", expr, s, got, err1, want, err2)
			}
		}
	}
	// Known answers, so the two paths cannot agree on a wrong one.
	r, _ := ParseWhen(`ip_in(ip, "192.0.2.0/24")`, "deny")
	for s, want := range map[string]bool{"192.0.2.1": true, "::ffff:192.0.2.1": true, "192.0.3.1": false, "2001:db8::1": false} {
		a := baseAttempt()
		a.IP = netip.MustParseAddr(s)
		got, err := r.eval(&activation{a: a, subj: subjects{a: a, norm: &Normalizer{}}})
		if err != nil || got != want {
			t.Errorf("ip_in(%s, 192.0.2.0/24) = %v, %v; want %v", s, got, err, want)
		}
	}
	r, _ = ParseWhen(`["192.0.2.7"].exists(ip, ip_in(ip, "192.0.2.0/24"))`, "deny")
	a := baseAttempt() // 10.1.2.3
	if got, err := r.eval(&activation{a: a, subj: subjects{a: a, norm: &Normalizer{}}}); err != nil || !got {
		t.Errorf("shadowed ip: %v, %v; want the iteration variable tested", got, err)
	}
}

// TestWhenCounters: the counters map answers every way an expression can
// read a map.
func TestWhenCounters(t *testing.T) {
	cases := []struct {
		expr    string
		want    bool
		wantErr bool
	}{
		{`counters["rate_ip"] == 1 && counters.rate_user == 1 && counters["rate_ip_2"] == 1`, true, false},
		{`"rate_ip" in counters && !("rate_device" in counters)`, true, false},
		{`size(counters) == 3`, true, false},
		{`counters.exists(k, k == "rate_user" && counters[k] == 1)`, true, false},
		{`counters.all(k, counters[k] >= 1)`, true, false},
		{`counters["rate_ip"] > 1`, false, false},
		{`counters[user_raw] > 0`, false, true},
	}
	a := baseAttempt()
	for _, c := range cases {
		r, err := ParseWhen(c.expr, "deny", "seen")
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		q, _, _ := newTestPolicy(t, 100, PolicyConfig{Rules: append(mustRules(t,
			[]string{"rate", "ip", "10/1m"}, []string{"rate", "user", "10/1m"}, []string{"rate", "ip", "500/1h"}), r)})
		v, tk := q.Evaluate(bg, a, nil)
		q.Observe(bg, tk, OutcomeUnknown)
		if got := v.HasReason("seen"); got != (c.want || c.wantErr) || v.HasReason(ReasonRuleError) != c.wantErr {
			t.Errorf("%s: reasons %v, want fired=%v error=%v", c.expr, v.Reasons, c.want, c.wantErr)
		}
	}
}

// TestWhenStaticBoundHolds: for every expression that runs untracked, the
// cost the tracker measures on the largest inputs tried never exceeds the
// static estimate the decision was made on.
func TestWhenStaticBoundHolds(t *testing.T) {
	env, err := environment()
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("Ab,", 100_000)
	exprs := []string{
		`user == "jlopez"`, `user_raw == "JLopez "`, `ip == "10.1.2.3"`, `ip_in(ip, "10.0.0.0/8")`,
		`device == "present" && device_present && !device_empty`, `assertion == "valid"`,
		`has_score && score > 0.8`, `score == 0.0`, `size(engine_reasons) == 0`,
		`headers["x-client"] == "mobile, beta"`, `"x-missing" in headers`,
		`route == "login" && event == "login" && !session_present`,
		`user_agent != "" && user_agent >= "Mozilla"`, `size(user_agent) > 10 && size(headers) < 100`,
		`ip_in(headers["x-real-ip"], "192.0.2.0/24") ? user == "a" : user_raw != "b"`,
		`["192.0.2.7", "bogus"].exists(ip, ip_in(ip, "192.0.2.0/24"))`,
	}
	bounded := 0
	for _, expr := range exprs {
		r, err := ParseWhen(expr, "deny")
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if !r.costBounded {
			continue
		}
		bounded++
		ast, _ := env.Compile(expr)
		est, err := env.EstimateCost(ast, unsizedEstimator{})
		if err != nil {
			t.Fatal(err)
		}
		prg, err := trackedProgram(env, ast)
		if err != nil {
			t.Fatal(err)
		}
		a := baseAttempt()
		a.User, a.UserAgent, a.Assertion = huge, huge, huge
		a.Header = http.Header{"X-Client": {huge, huge}, "X-Real-Ip": {huge}, "Accept": {huge}}
		sig := &Signals{Score: 0.95, HasScore: true, EngineReasons: []string{huge, huge}}
		_, det, err := prg.Eval(&activation{a: a, sig: sig, subj: subjects{a: a, sig: sig, norm: &Normalizer{}}})
		if err != nil && strings.Contains(err.Error(), "cost") {
			t.Errorf("%s: %v on huge inputs though bounded by %d", expr, err, est.Max)
			continue
		}
		if det == nil || det.ActualCost() == nil {
			t.Fatalf("%s: no cost measured", expr)
		}
		if got := *det.ActualCost(); got > est.Max || got > DefaultCostLimit {
			t.Errorf("%s: measured cost %d over the static bound %d", expr, got, est.Max)
		}
	}
	if bounded < 12 {
		t.Fatalf("only %d expressions bounded", bounded)
	}
}
