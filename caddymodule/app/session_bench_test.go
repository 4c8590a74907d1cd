package app

import (
	"strconv"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

// BenchmarkSealSession is a login's session cookie: sealed into its
// Set-Cookie line and remembered by the session cache.
func BenchmarkSealSession(b *testing.B) { benchSealSession(b, true) }

// BenchmarkSealSessionUncached is BenchmarkSealSession without the
// session cache: what the cache adds to a login is the difference.
func BenchmarkSealSessionUncached(b *testing.B) { benchSealSession(b, false) }

func benchSealSession(b *testing.B, cached bool) {
	ks := testkeys.Keyset(b, time.Now())
	a := Standalone(ks, time.Hour)
	b.Cleanup(func() { _ = a.Stop(); _ = a.Cleanup() })
	if !cached {
		a.rt.sessions = nil
	}
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = "s" + strconv.Itoa(i)
	}
	buf := make([]byte, 0, 384)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var err error
		if buf, _, err = a.AppendSealSession(buf[:0], Session{User: "jlopez", Session: ids[i%len(ids)]}, now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
