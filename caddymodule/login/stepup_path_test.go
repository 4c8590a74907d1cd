package login

import "testing"

// TestStepUpPath: the step-up route compares a state's place with its own
// path (no query) and host, so the login route's must be written alike.
func TestStepUpPath(t *testing.T) {
	for target, want := range map[string]string{
		"/verify":                          "/verify",
		"/verify/":                         "/verify",
		"/verify?lang=et":                  "/verify",
		"https://Auth.example.com/verify/": "auth.example.com/verify",
		"https://auth.example.com:443/v?x": "auth.example.com/v",
	} {
		if got := (&StepUpOptions{StepUp: target}).stepUpPath(); got != want {
			t.Errorf("%q: %q, want %q", target, got, want)
		}
	}
}
