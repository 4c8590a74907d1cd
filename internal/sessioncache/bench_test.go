package sessioncache

import (
	"strconv"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

// BenchmarkSessionCachePut is the cache's share of a login: one sealed
// token remembered.
func BenchmarkSessionCachePut(b *testing.B) {
	c := New()
	ks := testkeys.Keyset(b, time.Now())
	now := time.Now()
	toks := make([][]byte, 4*Entries) // more than it holds: each put a new entry
	for i := range toks {
		t, err := ks.AppendSeal(nil, "session", sealedSession("s"+strconv.Itoa(i)), now, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		toks[i] = t
	}
	exp := now.Add(time.Hour).Unix()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.PutSealed(ks, toks[i%len(toks)], Session{User: "jlopez", ID: "s1"}, exp, now)
		i++
	}
}
