package caddyproc

import "testing"

// TestLoggedPanic: a panic logged by any run of the process, an earlier
// one included, is found; a log without one, or no run at all, has none.
func TestLoggedPanic(t *testing.T) {
	logOf := func(s string) *syncBuffer { b := &syncBuffer{}; b.buf.WriteString(s); return b }
	clean := `{"level":"info","msg":"serving initial configuration"}` + "\n"
	panicked := `{"level":"error","logger":"http.stdlib","msg":"http: panic serving 127.0.0.1:5: runtime error"}` + "\n"
	for name, c := range map[string]struct {
		logs  []*syncBuffer
		log   *syncBuffer
		found bool
	}{
		"clean":            {nil, logOf(clean), false},
		"current run":      {nil, logOf(clean + panicked), true},
		"before a restart": {[]*syncBuffer{logOf(panicked)}, logOf(clean), true},
		"never started":    {nil, nil, false},
	} {
		p := &Proc{logs: c.logs, log: c.log}
		if got := p.loggedPanic() != ""; got != c.found {
			t.Errorf("%s: found %v, want %v", name, got, c.found)
		}
	}
}
