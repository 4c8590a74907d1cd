package rules

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestParseWhenCompileErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`user ==`, "Syntax error"},
		{`user`, "must be bool, not string"},
		{`score + 1.0`, "must be bool, not double"},
		{`usr == "x"`, "undeclared reference to 'usr'"},
		{`user == 1`, "no matching overload"},
		{`ip_in(ip, "10.0.0.0/33")`, `invalid CIDR "10.0.0.0/33"`},
		{`ip_in(ip, "ten")`, `invalid IP address "ten"`},
		{`ip_in(ip, user)`, "must be a string literal"},
		{`ip_in(ip)`, "found no matching overload for 'ip_in'"},
		{strings.Repeat("true && ", 600) + "true", "code point size exceeds limit"},
	}
	for _, tt := range tests {
		_, err := ParseWhen(tt.expr, "deny")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "when: ") {
			t.Errorf("ParseWhen(%.40q) = %v, want an error containing %q", tt.expr, err, tt.want)
		}
	}
}

func baseAttempt() *Attempt {
	return &Attempt{
		Route:         "login",
		Event:         "login",
		User:          "JLopez ",
		IP:            netip.MustParseAddr("10.1.2.3"),
		UserAgent:     "Mozilla/5.0 (X11; Linux) curl-ish",
		Device:        "payload",
		DevicePresent: true,
		Header:        http.Header{"X-Client": {"mobile", "beta"}, "Accept-Language": {"es"}},
		Assertion:     "valid",
	}
}

func TestWhenEvaluation(t *testing.T) {
	sig := &Signals{Score: 0.91, HasScore: true, EngineReasons: []string{"engine_challenge"}}
	tests := []struct {
		expr string
		edit func(a *Attempt)
		sig  *Signals
		want bool
	}{
		{`user == "jlopez"`, nil, nil, true},
		{`user_raw == "JLopez "`, nil, nil, true},
		{`ip == "10.1.2.3"`, nil, nil, true},
		{`ip_in(ip, "10.0.0.0/8")`, nil, nil, true},
		{`ip_in(ip, "192.168.0.0/16")`, nil, nil, false},
		{`ip_in(ip, "10.1.2.3")`, nil, nil, true},
		{`ip_in(ip, "10.0.0.0/8")`, func(a *Attempt) { a.IP = netip.MustParseAddr("::ffff:10.9.9.9") }, nil, true},
		{`ip_in(ip, "10.0.0.0/8")`, func(a *Attempt) { a.IP = netip.Addr{} }, nil, false},
		{`ip == ""`, func(a *Attempt) { a.IP = netip.Addr{} }, nil, true},
		{`user_agent.contains("curl")`, nil, nil, true},
		{`user_agent.matches("^Mozilla/[0-9]")`, nil, nil, true},
		{`device == "present" && device_present && !device_empty`, nil, nil, true},
		{`device == "empty" && device_empty`, func(a *Attempt) { a.Device = "" }, nil, true},
		{`device == "missing" && !device_present`, func(a *Attempt) { a.DevicePresent, a.Device = false, "" }, nil, true},
		{`assertion == "valid"`, nil, nil, true},
		{`assertion == "valid"`, func(a *Attempt) { a.Assertion = "" }, nil, false},
		{`has_score && score > 0.8`, nil, sig, true},
		{`has_score`, nil, nil, false},
		{`score == 0.0`, nil, nil, true},
		{`"engine_challenge" in engine_reasons`, nil, sig, true},
		{`size(engine_reasons) == 0`, nil, nil, true},
		{`headers["x-client"] == "mobile, beta"`, nil, nil, true},
		{`"accept-language" in headers && headers["accept-language"].startsWith("es")`, nil, nil, true},
		{`"x-missing" in headers`, nil, nil, false},
		{`route == "login" && event == "login" && !session_present`, nil, nil, true},
		{`session_present`, func(a *Attempt) { a.Session = "s1" }, nil, true},
	}
	for _, tt := range tests {
		r, err := ParseWhen(tt.expr, "deny")
		if err != nil {
			t.Errorf("ParseWhen(%q): %v", tt.expr, err)
			continue
		}
		a := baseAttempt()
		if tt.edit != nil {
			tt.edit(a)
		}
		subj := subjects{a: a, sig: tt.sig, norm: &Normalizer{}}
		act := &activation{a: a, sig: tt.sig, subj: subj}
		got, err := r.eval(act)
		if err != nil || got != tt.want {
			t.Errorf("%s = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
}

func TestWhenRuntimeErrors(t *testing.T) {
	a := baseAttempt()
	// A missing header is a run-time error, not false.
	r, err := ParseWhen(`headers["x-missing"] == "1"`, "deny")
	if err != nil {
		t.Fatal(err)
	}
	subj := subjects{a: a, norm: &Normalizer{}}
	if _, err := r.eval(&activation{a: a, subj: subj}); err == nil {
		t.Fatal("missing header: no error")
	}
	// The cost limit stops an expensive expression over a huge header.
	r, err = ParseWhen(`headers["x-big"].matches("(a,)*b") || headers["x-big"].contains("zz")`, "deny")
	if err != nil {
		t.Fatal(err)
	}
	a.Header.Set("X-Big", strings.Repeat("a,", 50_000))
	if _, err := r.eval(&activation{a: a, subj: subj}); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("expensive expression: %v, want a cost limit error", err)
	}
}

// TestWaitsForEngines: the type-checked expression, not its text, says
// whether a rule reads engine signals.
func TestWaitsForEngines(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		{`score > 0.5`, true},
		{`has_score && user_agent == ""`, true},
		{`"engine_down" in engine_reasons`, true},
		{`user == "score"`, false},
		{`headers["has_score"] == "1"`, false},
		{`user_agent.contains("engine_reasons")`, false},
		{`score > 0.5 && counters.rate_ip > 1`, false},
		{`ip_in(ip, "10.0.0.0/8")`, false},
	}
	for _, c := range cases {
		w, err := ParseWhen(c.expr, "deny")
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := WaitsForEngines(w); got != c.want {
			t.Errorf("WaitsForEngines(%s) = %v, want %v", c.expr, got, c.want)
		}
	}
	rate, err := ParseRule([]string{"rate", "ip", "5/1m"})
	if err != nil {
		t.Fatal(err)
	}
	if WaitsForEngines(rate) {
		t.Error("a rate rule never waits for engines")
	}
}
