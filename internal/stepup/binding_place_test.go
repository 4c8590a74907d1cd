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
		sent, at, domain string
		want             bool
	}{
		{"/verify", "example.com/verify", "", true},
		{"/verify", "/verify", "", true},
		{"/verify", "example.com/check", "", false},
		{"/verify", "example.com/verify/x", "", false},
		{"auth.example.com/verify", "auth.example.com/verify", "example.com", true},
		{"auth.example.com/verify", "example.com/verify", "example.com", false},
		{"auth.example.com/verify", "www.example.com/verify", ".example.com", false},
		{"auth.example.com:8443/verify", "auth.example.com:8443/verify", "example.com", true},
		{"auth.example.com:8443/verify", "app.example.com:8443/verify", "example.com", false},
		// A proxy in front rewrote Host to an internal address: the path
		// decides.
		{"auth.example.com/verify", "10.0.0.5:8080/verify", "example.com", true},
		{"auth.example.com/verify", "10.0.0.5:8080/check", "example.com", false},
		{"auth.example.com/verify", "[fd00::5]:8080/verify", "example.com", true},
	} {
		if got := stepUpMatches(c.sent, c.at, c.domain); got != c.want {
			t.Errorf("stepUpMatches(%q, %q, %q) = %v", c.sent, c.at, c.domain, got)
		}
	}
}
