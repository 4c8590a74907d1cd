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
		sent, at string
		want     bool
	}{
		{"/verify", "example.com/verify", true},
		{"/verify", "/verify", true},
		{"/verify", "example.com/check", false},
		{"/verify", "example.com/verify/x", false},
		{"auth.example.com/verify", "auth.example.com/verify", true},
		{"auth.example.com/verify", "example.com/verify", false},
		{"auth.example.com/verify", "/verify", false},
	} {
		if got := stepUpMatches(c.sent, c.at); got != c.want {
			t.Errorf("stepUpMatches(%q, %q) = %v", c.sent, c.at, got)
		}
	}
}
