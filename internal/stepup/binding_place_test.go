package stepup

import "testing"

func TestStepUpPlaces(t *testing.T) {
	for _, c := range []struct{ host, path, want string }{
		{"", "/verify/", "/verify"},
		{"Auth.Example.com:443", "/verify", "auth.example.com/verify"},
		{"auth.example.com:8443", "/verify", "auth.example.com:8443/verify"},
	} {
		if got := StepUpPlace(c.host, c.path); got != c.want {
			t.Errorf("StepUpPlace(%q, %q) = %q, want %q", c.host, c.path, got, c.want)
		}
	}
	for _, c := range []struct {
		name       string
		sent, host string // the state's StepUp and Host
		at         string
		want       string
	}{
		{"same site, same host", "/verify", "example.com", "example.com/verify", ""},
		{"a pass checked on the login route", "/verify", "example.com", "/verify", ""},
		{"another path", "/verify", "example.com", "example.com/check", ReasonStepUpMismatch},
		{"a path under it", "/verify", "example.com", "example.com/verify/x", ReasonStepUpMismatch},
		// The finding: another site of the same Caddy, its own /verify.
		{"another site's route", "/verify", "a.example", "b.example/verify", ReasonHostMismatch},
		{"another port", "/verify", "localhost:8080", "localhost:8081/verify", ReasonHostMismatch},
		// A state from before states recorded their host is refused.
		{"no host recorded", "/verify", "", "b.example/verify", ReasonHostMismatch},
		{"no host recorded, a pass on the login route", "/verify", "", "/verify", ""},
		{"step-up host", "auth.example.com/verify", "example.com", "auth.example.com/verify", ""},
		{"the login's host", "auth.example.com/verify", "example.com", "example.com/verify", ReasonHostMismatch},
		{"a sibling host", "auth.example.com/verify", "example.com", "www.example.com/verify", ReasonHostMismatch},
		{"step-up host and port", "auth.example.com:8443/verify", "example.com", "auth.example.com:8443/verify", ""},
		{"sibling host, same port", "auth.example.com:8443/verify", "example.com", "app.example.com:8443/verify", ReasonHostMismatch},
		// A site outside the cookie domain was matched by its path alone
		// (taken for a proxy's rewritten Host): no longer.
		{"a site outside the domain", "auth.example.com/verify", "example.com", "other.example/verify", ReasonHostMismatch},
		{"an internal address", "auth.example.com/verify", "example.com", "10.0.0.5:8080/verify", ReasonHostMismatch},
		{"an internal IPv6 address", "auth.example.com/verify", "example.com", "[fd00::5]:8080/verify", ReasonHostMismatch},
	} {
		if got := stepUpRefusal(State{StepUp: c.sent, Host: c.host}, c.at); got != c.want {
			t.Errorf("%s: stepUpRefusal(%q on %q, at %q) = %q, want %q", c.name, c.sent, c.host, c.at, got, c.want)
		}
	}
}

// TestStateBoundToTheLoginsHost: a state sent to a path on the login's
// site records the host the login came to, and a step-up route of
// another site of the same Caddy (the same keys) refuses it without
// spending it.
func TestStateBoundToTheLoginsHost(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	c := resubmitChallenge(alice)
	c.StepUp, c.Host = "/verify", "A.Example:443"
	tok, st := mustIssue(t, is, c)
	if st.Host != "a.example" {
		t.Fatalf("recorded host %q, want a.example", st.Host)
	}
	at := func(host string) Binding {
		return Binding{IP: alice.IP, UserAgent: alice.UserAgent, StepUp: StepUpPlace(host, "/verify")}
	}
	_, err := is.Verify(tok, at("b.example"))
	wantReason(t, err, ReasonHostMismatch)
	_, err = is.Redeem(tok, at("b.example"))
	wantReason(t, err, ReasonHostMismatch)
	if _, err := is.Redeem(tok, at("a.example")); err != nil {
		t.Fatalf("on the login's host: %v", err)
	}
}
