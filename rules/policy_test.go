package rules

import (
	"strings"
	"testing"
	"time"
)

// step is one attempt in a policy table: who, after how long, and what
// verdict to expect.
type step struct {
	advance   time.Duration
	user, ip  string
	edit      func(*Attempt)
	action    Action
	reasons   []string
	monitored []string
	retry     time.Duration
}

func runSteps(t *testing.T, p *Policy, c *fakeClock, sig *Signals, steps []step) {
	t.Helper()
	for i, s := range steps {
		c.Advance(s.advance)
		a := attempt(s.user, s.ip)
		if s.edit != nil {
			s.edit(a)
		}
		v, tk := p.Evaluate(bg, a, sig)
		if err := p.Observe(bg, tk, OutcomeUnknown); err != nil {
			t.Fatalf("step %d: observe: %v", i, err)
		}
		if v.Action != s.action || !sameStrings(v.Reasons, s.reasons) || !sameStrings(v.Monitored, s.monitored) || v.RetryAfter != s.retry {
			t.Fatalf("step %d (%s@%s): got %v %q monitored %q retry %v; want %v %q monitored %q retry %v",
				i, s.user, s.ip, v.Action, v.Reasons, v.Monitored, v.RetryAfter, s.action, s.reasons, s.monitored, s.retry)
		}
	}
}

func TestPolicyRules(t *testing.T) {
	const m = time.Minute
	tests := []struct {
		name  string
		rules [][]string
		cfg   PolicyConfig
		sig   *Signals
		steps []step
	}{
		{
			name:  "rate ip: N allowed, N+1th denied with retry-after, window slides",
			rules: [][]string{{"rate", "ip", "2/1m"}},
			steps: []step{
				{user: "a", ip: "192.0.2.1"},
				{advance: 10 * time.Second, user: "b", ip: "192.0.2.1"},
				{user: "c", ip: "192.0.2.1", action: Deny, reasons: []string{"rate_ip"}, retry: 50 * time.Second},
				{user: "a", ip: "192.0.2.2"}, // other address
				{advance: 50 * time.Second, user: "c", ip: "192.0.2.1"},
			},
		},
		{
			name:  "rate user normalises names",
			rules: [][]string{{"rate", "user", "2/1m", "challenge"}},
			steps: []step{
				{user: "JLopez ", ip: "192.0.2.1"},
				{user: "jlopez", ip: "192.0.2.2"},
				{user: "ＪＬＯＰＥＺ", ip: "192.0.2.3", action: Challenge, reasons: []string{"rate_user"}},
				{user: "", ip: "192.0.2.3"}, // no user: not counted
			},
		},
		{
			name:  "rate ip counts an IPv6 /64 as one client",
			rules: [][]string{{"rate", "ip", "2/1m"}},
			steps: []step{
				{user: "a", ip: "2001:db8::1"},
				{user: "a", ip: "2001:db8::2:3"},
				{user: "a", ip: "2001:db8::ffff", action: Deny, reasons: []string{"rate_ip"}, retry: m},
				{user: "a", ip: "2001:db8:0:1::1"},
			},
		},
		{
			name:  "rate ip_user",
			rules: [][]string{{"rate", "ip_user", "1/1m"}},
			steps: []step{
				{user: "a", ip: "192.0.2.1"},
				{user: "b", ip: "192.0.2.1"},
				{user: "a", ip: "192.0.2.2"},
				{user: "A", ip: "192.0.2.1", action: Deny, reasons: []string{"rate_ip_user"}, retry: m},
			},
		},
		{
			name:  "rate device uses the device id, then the payload",
			rules: [][]string{{"rate", "device", "1/1m"}},
			steps: []step{
				{user: "a", ip: "192.0.2.1"},
				{user: "b", ip: "192.0.2.2", action: Deny, reasons: []string{"rate_device"}, retry: m},
				{user: "b", ip: "192.0.2.2", edit: func(a *Attempt) { a.Device = "other" }},
				{user: "b", ip: "192.0.2.2", edit: func(a *Attempt) { a.Device, a.DevicePresent = "", false }},
			},
		},
		{
			name:  "spray: distinct users per address",
			rules: [][]string{{"spray", "ip", "2/10m", "challenge"}},
			steps: []step{
				{user: "alice", ip: "192.0.2.1"},
				{user: "bob", ip: "192.0.2.1"},
				{user: "ALICE", ip: "192.0.2.1"}, // seen
				{user: "carol", ip: "192.0.2.1", action: Challenge, reasons: []string{"spray"}},
				{user: "carol", ip: "192.0.2.9"},
			},
		},
		{
			name:  "spread: distinct addresses per user",
			rules: [][]string{{"spread", "user", "2/10m"}},
			steps: []step{
				{user: "victim", ip: "192.0.2.1"},
				{user: "victim", ip: "2001:db8::1"},
				{user: "victim", ip: "2001:db8::2"}, // same /64
				{user: "Victim", ip: "198.51.100.1", action: Deny, reasons: []string{"spread"}, retry: 10 * m},
			},
		},
		{
			name:  "device missing and empty",
			rules: [][]string{{"device", "missing", "deny"}, {"device", "empty", "challenge"}},
			steps: []step{
				{user: "a", ip: "192.0.2.1"},
				{user: "a", ip: "192.0.2.1", edit: func(a *Attempt) { a.DevicePresent, a.Device = false, "" },
					action: Deny, reasons: []string{ReasonDeviceMissing}},
				{user: "a", ip: "192.0.2.1", edit: func(a *Attempt) { a.Device = "" },
					action: Challenge, reasons: []string{ReasonDeviceEmpty}},
			},
		},
		{
			name:  "deny_ip ends evaluation: nothing counted",
			rules: [][]string{{"deny_ip", "192.0.2.0/24"}, {"rate", "user", "1/1m"}},
			steps: []step{
				{user: "a", ip: "192.0.2.1", action: Deny, reasons: []string{ReasonIPDenied}},
				{user: "a", ip: "::ffff:192.0.2.1", action: Deny, reasons: []string{ReasonIPDenied}},
				{user: "a", ip: "198.51.100.1"},
				{user: "a", ip: "198.51.100.1", action: Deny, reasons: []string{"rate_user"}, retry: m},
			},
		},
		{
			name:  "allow_ip with short circuit skips counting",
			rules: [][]string{{"allow_ip", "10.0.0.0/8"}, {"deny_ip", "10.0.0.0/8"}, {"rate", "ip", "1/1m"}},
			cfg:   PolicyConfig{AllowShortCircuit: true},
			steps: []step{
				{user: "a", ip: "10.0.0.1", reasons: []string{ReasonIPAllowed}},
				{user: "a", ip: "10.0.0.1", reasons: []string{ReasonIPAllowed}},
			},
		},
		{
			name:  "allow_ip without short circuit only records",
			rules: [][]string{{"allow_ip", "10.0.0.0/8"}, {"rate", "ip", "1/1m"}},
			steps: []step{
				{user: "a", ip: "10.0.0.1", reasons: []string{ReasonIPAllowed}},
				{user: "a", ip: "10.0.0.1", action: Deny, reasons: []string{ReasonIPAllowed, "rate_ip"}, retry: m},
			},
		},
		{
			name:  "monitor rules log without acting",
			rules: [][]string{{"rate", "ip", "1/1m", "monitor"}, {"deny_ip", "192.0.2.0/24", "monitor"}, {"device", "missing", "deny", "monitor"}},
			steps: []step{
				{user: "a", ip: "192.0.2.1", monitored: []string{ReasonIPDenied}},
				{user: "a", ip: "192.0.2.1", edit: func(a *Attempt) { a.DevicePresent = false },
					monitored: []string{ReasonIPDenied, "rate_ip", ReasonDeviceMissing}},
			},
		},
		{
			name:  "when: expressions see user, ip, assertion, counters",
			rules: [][]string{{"rate", "ip", "10/1m"}, {"when", `counters["rate_ip"] >= 3 && assertion != "valid"`, "challenge", "busy_ip"}, {"when", `!ip_in(ip, "192.0.2.0/24") && user == "admin"`, "deny", "admin_outside"}},
			steps: []step{
				{user: "x", ip: "192.0.2.1"},
				{user: "x", ip: "192.0.2.1"},
				{user: "x", ip: "192.0.2.1", action: Challenge, reasons: []string{"busy_ip"}},
				{user: "x", ip: "192.0.2.1", edit: func(a *Attempt) { a.Assertion = "valid" }},
				{user: "Admin", ip: "198.51.100.1", action: Deny, reasons: []string{"admin_outside"}},
				{user: "Admin", ip: "192.0.2.200"}, // inside the range, and a fresh address
			},
		},
		{
			name:  "when: engine score",
			rules: [][]string{{"when", `has_score && score >= 0.9`, "deny", "high_score"}},
			sig:   &Signals{Score: 0.95, HasScore: true},
			steps: []step{{user: "a", ip: "192.0.2.1", action: Deny, reasons: []string{"high_score"}}},
		},
		{
			name:  "when: a run-time failure applies the action (fail closed)",
			rules: [][]string{{"when", `headers["x-debug"] == "1"`, "challenge", "debug_header"}},
			steps: []step{{user: "a", ip: "192.0.2.1", action: Challenge, reasons: []string{"debug_header", ReasonRuleError}}},
		},
		{
			name: "combination: worst action wins, every reason kept",
			rules: [][]string{
				{"rate", "ip", "1/1m", "challenge"},
				{"rate", "ip", "5/1h"},
				{"device", "empty", "challenge"},
				{"when", `counters["rate_ip_2"] >= 2`, "deny", "hourly"},
			},
			steps: []step{
				{user: "a", ip: "192.0.2.1"},
				{user: "a", ip: "192.0.2.1", edit: func(a *Attempt) { a.Device = "" },
					action: Deny, reasons: []string{"rate_ip", ReasonDeviceEmpty, "hourly"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Rules = mustRules(t, tt.rules...)
			p, c, _ := newTestPolicy(t, 1000, cfg)
			runSteps(t, p, c, tt.sig, tt.steps)
		})
	}
}

func TestPolicyStoreFullAppliesOnFull(t *testing.T) {
	deny := Deny
	for _, tc := range []struct {
		onFull *Action
		want   Action
	}{{nil, Challenge}, {&deny, Deny}} {
		p, c, m := newTestPolicy(t, 2, PolicyConfig{Rules: mustRules(t, []string{"rate", "ip", "1/1m"}), OnFull: tc.onFull})
		runSteps(t, p, c, nil, []step{
			{user: "a", ip: "192.0.2.1"},
			{user: "a", ip: "192.0.2.2"},
			// both keys are at their limit: a new one cannot be held
			{user: "a", ip: "192.0.2.3", action: tc.want, reasons: []string{ReasonStoreFull}},
			// known keys stay limited
			{user: "a", ip: "192.0.2.1", action: Deny, reasons: []string{"rate_ip"}, retry: time.Minute},
			{advance: time.Minute, user: "a", ip: "192.0.2.3"},
		})
		if st := m.Stats(); st.Refusals != 1 {
			t.Fatalf("refusals %d", st.Refusals)
		}
	}
}

func TestNewPolicyErrors(t *testing.T) {
	rate := mustRules(t, []string{"rate", "ip", "5/1m"})
	tests := []struct {
		name string
		cfg  PolicyConfig
		want string
	}{
		{"no store", PolicyConfig{Scope: "login", Rules: rate}, "counter store is required"},
		{"duplicate", PolicyConfig{Rules: append(rate, mustRules(t, []string{"rate", "ip", "5/1m", "challenge"})...)}, "duplicate rule"},
		{"unknown counter", PolicyConfig{Rules: append(rate, mustRules(t, []string{"when", `counters["rate_user"] > 1`, "deny"})...)}, `unknown counter "rate_user" (this route counts: rate_ip)`},
		{"unknown counter by field", PolicyConfig{Rules: mustRules(t, []string{"when", `counters.rate_ip > 1`, "deny"})}, `unknown counter "rate_ip" (this route counts: nothing)`},
		{"bad prefix", PolicyConfig{Normalizer: Normalizer{IPv6Prefix: 200}}, "out of range"},
		{"nil rule", PolicyConfig{Rules: []Rule{nil}}, "nil rule"},
	}
	for _, tt := range tests {
		cfg := tt.cfg
		if tt.name != "no store" {
			cfg.Scope = "login"
			_, _, m := newTestPolicy(t, 10, PolicyConfig{})
			cfg.Store = m
		}
		_, err := NewPolicy(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	_, _, m := newTestPolicy(t, 10, PolicyConfig{})
	if _, err := NewPolicy(PolicyConfig{Store: m, Rules: rate}); err == nil || !strings.Contains(err.Error(), "scope") {
		t.Errorf("missing scope: %v", err)
	}
	p, err := NewPolicy(PolicyConfig{Scope: "s", Store: m, Rules: mustRules(t,
		[]string{"rate", "ip", "5/1m"}, []string{"rate", "ip", "50/1h"}, []string{"lockout", "user", "3/1m", "for", "5m"})})
	if err != nil || !sameStrings(p.CounterNames(), []string{"rate_ip", "rate_ip_2", "lockout_user"}) {
		t.Fatalf("counter names %v, %v", p.CounterNames(), err)
	}
}

func TestPolicyReportsRuleErrors(t *testing.T) {
	var got []string
	p, _, _ := newTestPolicy(t, 10, PolicyConfig{
		Rules:   mustRules(t, []string{"when", `headers["x-a"] == "1"`, "deny", "xa"}),
		OnError: func(rule string, err error) { got = append(got, rule+": "+err.Error()) },
	})
	a := attempt("u", "192.0.2.1")
	a.User = "secret-looking-user"
	p.Evaluate(bg, a, nil)
	if len(got) != 1 || !strings.Contains(got[0], `when "headers[\"x-a\"] == \"1\"" deny xa`) {
		t.Fatalf("hook got %q", got)
	}
	if strings.Contains(got[0], a.User) {
		t.Fatal("the error leaks the attempt's user")
	}
}

func TestObserveNilAndRepeat(t *testing.T) {
	p, _, _ := newTestPolicy(t, 10, PolicyConfig{Rules: mustRules(t, []string{"lockout", "user", "1/1m", "for", "1m"})})
	if err := p.Observe(bg, nil, OutcomeFailure); err != nil {
		t.Fatal(err)
	}
	v, tk := p.Evaluate(bg, attempt("u", "192.0.2.1"), nil)
	if v.Action != Allow || tk == nil {
		t.Fatalf("%v %v", v.Action, tk)
	}
	if err := p.Observe(bg, tk, OutcomeSuccess); err != nil {
		t.Fatal(err)
	}
	// A repeated Observe must not record a failure.
	if err := p.Observe(bg, tk, OutcomeFailure); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Evaluate(bg, attempt("u", "192.0.2.1"), nil); v.Action != Allow {
		t.Fatalf("second Observe counted: %v %v", v.Action, v.Reasons)
	}
}
