package caddytest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recordingTB keeps what a check reports instead of failing this test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestCheckNoPanic: a logged panic fails the test; a clean or missing
// log does not.
func TestCheckNoPanic(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		log  string
		fail bool
	}{
		"clean":    {`{"level":"info","msg":"login_guard"}` + "\n", false},
		"panicked": {`{"level":"error","logger":"http.stdlib","msg":"http: panic serving 127.0.0.1:5: boom"}` + "\n", true},
		"missing":  {"", false},
	} {
		path := filepath.Join(dir, name+".log")
		if c.log != "" {
			if err := os.WriteFile(path, []byte(c.log), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		rec := &recordingTB{TB: t}
		checkNoPanic(rec, path)
		if got := len(rec.errors) > 0; got != c.fail {
			t.Errorf("%s: failed %v, want %v (%v)", name, got, c.fail, rec.errors)
		}
	}
}
