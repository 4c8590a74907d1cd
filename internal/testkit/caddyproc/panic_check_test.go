package caddyproc

import (
	"fmt"
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

// TestCheckNoPanic: a panic logged by any run of the process, an earlier
// one included, fails the test; a log without one does not.
func TestCheckNoPanic(t *testing.T) {
	logOf := func(s string) *syncBuffer { b := &syncBuffer{}; b.buf.WriteString(s); return b }
	clean := `{"level":"info","msg":"serving initial configuration"}` + "\n"
	panicked := `{"level":"error","logger":"http.stdlib","msg":"http: panic serving 127.0.0.1:5: runtime error"}` + "\n"
	for name, c := range map[string]struct {
		logs []*syncBuffer
		log  *syncBuffer
		fail bool
	}{
		"clean":            {nil, logOf(clean), false},
		"current run":      {nil, logOf(clean + panicked), true},
		"before a restart": {[]*syncBuffer{logOf(panicked)}, logOf(clean), true},
		"never started":    {nil, nil, false},
	} {
		rec := &recordingTB{TB: t}
		p := &Proc{t: rec, logs: c.logs, log: c.log}
		p.checkNoPanic()
		if got := len(rec.errors) > 0; got != c.fail {
			t.Errorf("%s: failed %v, want %v (%v)", name, got, c.fail, rec.errors)
		}
	}
}
