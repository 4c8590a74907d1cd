package caddymodule_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestExampleCaddyfilesValidate: the demo's Caddyfile and every example
// config adapt and pass `caddy validate`, so the demo commands work.
func TestExampleCaddyfilesValidate(t *testing.T) {
	t.Setenv("SMARTID_ENDPOINT", "https://smartid.example.com")
	t.Setenv("SMARTID_LICENSE", "example-license")
	files := []string{"../Caddyfile"}
	more, _ := filepath.Glob("../examples/*.Caddyfile")
	files = append(files, more...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := caddytest.ValidateCaddyfile(t, string(raw)); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}
