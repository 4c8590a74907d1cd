package rules

import (
	"strings"
	"testing"
)

func TestParseRuleRoundTrips(t *testing.T) {
	tests := []struct {
		args   []string
		want   string // String(); "" means strings.Join(args, " ")
		reason string
		action Action
	}{
		{[]string{"rate", "ip", "5/1m"}, "rate ip 5/1m deny", "rate_ip", Deny},
		{[]string{"rate", "ip_user", "5/1m", "challenge"}, "", "rate_ip_user", Challenge},
		{[]string{"rate", "device", "30/1h", "deny", "monitor"}, "", "rate_device", Deny},
		{[]string{"rate", "user", "100/1d", "monitor", "challenge"}, "rate user 100/1d challenge monitor", "rate_user", Challenge},
		{[]string{"lockout", "user", "5/15m", "for", "30m", "challenge"}, "", "lockout_user", Challenge},
		{[]string{"lockout", "ip_user", "3/10m", "for", "1h"}, "lockout ip_user 3/10m for 1h deny", "lockout_ip_user", Deny},
		{[]string{"spray", "ip", "20/10m"}, "spray ip 20/10m deny", "spray", Deny},
		{[]string{"spray", "20/10m", "challenge"}, "spray ip 20/10m challenge", "spray", Challenge},
		{[]string{"spread", "user", "10/1h"}, "spread user 10/1h deny", "spread", Deny},
		{[]string{"device", "missing", "challenge"}, "", ReasonDeviceMissing, Challenge},
		{[]string{"device", "empty", "deny", "monitor"}, "", ReasonDeviceEmpty, Deny},
		{[]string{"when", `user == "admin"`, "deny", "admin_login"}, `when "user == \"admin\"" deny admin_login`, "admin_login", Deny},
		{[]string{"when", `score > 0.8`, "challenge"}, `when "score > 0.8" challenge`, ReasonWhen, Challenge},
		{[]string{"when", `true`, "allow", "tag", "monitor"}, `when "true" allow tag monitor`, "tag", Allow},
		{[]string{"deny_ip", "192.0.2.0/24", "2001:db8::1"}, "", ReasonIPDenied, Deny},
		{[]string{"allow_ip", "10.0.0.0/8", "monitor"}, "", ReasonIPAllowed, Allow},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.args)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tt.args, err)
			continue
		}
		want := tt.want
		if want == "" {
			want = strings.Join(tt.args, " ")
		}
		if r.String() != want {
			t.Errorf("ParseRule(%q).String() = %q, want %q", tt.args, r.String(), want)
		}
		if r.Reason() != tt.reason || r.common().action != tt.action {
			t.Errorf("%q: reason %q action %v, want %q %v", tt.args, r.Reason(), r.common().action, tt.reason, tt.action)
		}
		if _, isWhen := r.(*WhenRule); isWhen {
			continue // quoting differs from the dispenser's tokens
		}
		// The canonical form parses back to itself.
		again, err := ParseRule(strings.Fields(r.String()))
		if err != nil || again.String() != r.String() {
			t.Errorf("%q does not round-trip: %v %v", r.String(), again, err)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "empty rule"},
		{[]string{"ratelimit"}, `unknown rule "ratelimit"`},
		{[]string{"rate", "ip"}, "rate: want"},
		{[]string{"rate", "session", "5/1m"}, `unknown key "session"`},
		{[]string{"rate", "ip", "5/1x"}, "invalid duration"},
		{[]string{"rate", "ip", "5/1m", "allow"}, "must be deny or challenge"},
		{[]string{"rate", "ip", "5/1m", "deny", "challenge"}, "more than one action"},
		{[]string{"rate", "ip", "5/1m", "deny", "loud"}, `unexpected argument "loud"`},
		{[]string{"rate", "ip", "5/1m", "monitor", "monitor"}, "monitor given twice"},
		{[]string{"lockout", "user", "5/15m", "30m"}, "lockout: want"},
		{[]string{"lockout", "device", "5/15m", "for", "30m"}, "key must be user, ip or ip_user"},
		{[]string{"lockout", "user", "5/15m", "for", "forever"}, "for: invalid duration"},
		{[]string{"spray"}, "spray: want"},
		{[]string{"spray", "user", "5/1m"}, "invalid limit"},
		{[]string{"spread", "ip", "5/1m"}, "invalid limit"},
		{[]string{"device", "absent", "deny"}, "want missing or empty"},
		{[]string{"device", "missing", "monitor"}, "an action is required"},
		{[]string{"when", "true"}, "when: want"},
		{[]string{"when", "true", "deny", "Bad-Reason"}, "reason \"Bad-Reason\""},
		{[]string{"deny_ip"}, "at least one"},
		{[]string{"deny_ip", "300.0.0.1"}, `invalid IP address "300.0.0.1"`},
	}
	for _, tt := range tests {
		_, err := ParseRule(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRule(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
