package rules

import (
	"strings"
	"testing"
)

func TestAdminListAndClear(t *testing.T) {
	p, _, m := newTestPolicy(t, 1000, PolicyConfig{Scope: "login", Rules: mustRules(t,
		[]string{"lockout", "ip_user", "2/10m", "for", "1h"},
		[]string{"lockout", "user", "3/10m", "for", "1h"},
		[]string{"rate", "ip", "100/1m"})})
	// Another route shares the store and locks the same user.
	other, err := NewPolicy(PolicyConfig{Scope: "admin", Store: m, Rules: mustRules(t, []string{"lockout", "user", "1/10m", "for", "1h"})})
	if err != nil {
		t.Fatal(err)
	}
	login(t, p, "JLopez", "2001:db8::1", OutcomeFailure)
	login(t, p, "JLopez", "2001:db8::2", OutcomeFailure) // same /64: ip_user locks
	login(t, p, "jlopez", "192.0.2.50", OutcomeFailure)  // third failure: user locks
	login(t, p, "someone", "192.0.2.9", OutcomeFailure)
	login(t, other, "jlopez", "192.0.2.9", OutcomeFailure)

	locked, err := p.List(bg, AdminFilter{LimitedOnly: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range locked {
		got = append(got, e.Key.Rule+" | "+e.Key.Subject)
		if !strings.HasPrefix(e.Key.Rule, "login/") {
			t.Fatalf("listed another route's key %v", e.Key)
		}
	}
	want := []string{
		"login/lockout ip_user 2/10m for 1h | ip=2001:db8::/64 user=jlopez",
		"login/lockout user 3/10m for 1h | user=jlopez",
	}
	if !sameStrings(got, want) {
		t.Fatalf("limited keys\n%q\nwant\n%q", got, want)
	}
	if _, err := p.List(bg, AdminFilter{IP: "not-an-ip"}, 0); err == nil {
		t.Fatal("bad IP accepted")
	}
	byIP, _ := p.List(bg, AdminFilter{IP: "2001:db8::ffff"}, 0) // same /64
	if len(byIP) != 2 {                                         // ip_user lockout and rate ip
		t.Fatalf("by address: %+v", byIP)
	}

	// Support lifts the user's lockouts on this route, from any address.
	n, err := p.Clear(bg, AdminFilter{User: " JLOPEZ"})
	if err != nil || n != 3 { // user, and ip_user from two addresses
		t.Fatalf("cleared %d, %v; want 3", n, err)
	}
	if v := login(t, p, "jlopez", "2001:db8::1", OutcomeSuccess); v.Action != Allow {
		t.Fatalf("still locked: %v", v.Reasons)
	}
	// The other route's lockout is untouched.
	if v := login(t, other, "jlopez", "192.0.2.9", OutcomeSuccess); v.Action != Deny {
		t.Fatal("Clear reached another route")
	}
}

func TestSplitSubject(t *testing.T) {
	tests := []struct{ in, ip, user string }{
		{"ip=192.0.2.1/32", "ip=192.0.2.1/32", ""},
		{"user=a b", "", "user=a b"},
		{"ip=2001:db8::/64 user=x user=y", "ip=2001:db8::/64", "user=x user=y"},
		{"device=ab", "", ""},
	}
	for _, tt := range tests {
		ip, user := splitSubject(tt.in)
		if ip != tt.ip || user != tt.user {
			t.Errorf("splitSubject(%q) = %q, %q", tt.in, ip, user)
		}
	}
}
