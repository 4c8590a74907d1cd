package rules

import (
	"slices"
	"testing"
)

// TestRuleStringsRoundTrip: every rule the Caddyfile produces is stored
// in JSON as its String form and must come back as the same rule, quotes
// and backslashes in expressions included.
func TestRuleStringsRoundTrip(t *testing.T) {
	cases := [][]string{
		{"rate", "ip_user", "5/1m", "challenge", "monitor"},
		{"lockout", "ip_user", "5/15m", "for", "30m"},
		{"spray", "20/10m", "challenge"},
		{"spread", "user", "5/1h"},
		{"device", "empty", "deny"},
		{"when", `user_agent.matches("^curl/\\d") && headers["x-a"] == "say \"hi\""`, "deny", "scripted"},
		{"when", `user == "back\\slash" || user == "tab	in"`, "challenge", "monitor"},
		{"deny_ip", "10.0.0.0/8", "2001:db8::/32", "monitor"},
	}
	for _, args := range cases {
		r, err := ParseRule(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		got, err := SplitRule(r.String())
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		back, err := ParseRule(got)
		if err != nil {
			t.Fatalf("%s: reparse %q: %v", r, got, err)
		}
		if back.String() != r.String() {
			t.Fatalf("round trip changed the rule:\n%s\n%s", r, back)
		}
		if w, ok := r.(*WhenRule); ok && got[1] != w.Expression() {
			t.Fatalf("expression %q came back as %q", w.Expression(), got[1])
		}
	}
}

func TestSplitRule(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"rate ip 5/1m", []string{"rate", "ip", "5/1m"}, false},
		{"  rate\tip   5/1m  ", []string{"rate", "ip", "5/1m"}, false},
		{`when "a \"b\" \\ c" deny`, []string{"when", `a "b" \ c`, "deny"}, false},
		{`when "" deny`, []string{"when", "", "deny"}, false},
		{`when "x`, nil, true},
		{`when "x"deny`, nil, true},
		{"", nil, true},
	}
	for _, c := range cases {
		got, err := SplitRule(c.in)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Fatalf("SplitRule(%q) = %q, %v", c.in, got, err)
		}
	}
}
