package caddytest

import "testing"

// TestLoggedPanic: a logged request panic is found, a clean log has none.
func TestLoggedPanic(t *testing.T) {
	clean := `{"level":"info","msg":"login_guard"}` + "\n"
	panicked := `{"level":"error","logger":"http.stdlib","msg":"http: panic serving 127.0.0.1:5: boom"}` + "\n"
	if p := LoggedPanic([]byte(clean)); p != "" {
		t.Fatalf("a clean log reads as a panic: %q", p)
	}
	if p := LoggedPanic([]byte(clean + panicked)); p == "" || p[:19] != "http: panic serving" {
		t.Fatalf("the panic was not found: %q", p)
	}
}
