package redisstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// Key names must not change between releases (every count would start
// afresh): the keyed hash is the HMAC-SHA-256, under the derived "names"
// key, of each part followed by a zero byte, written as it was before the
// hash cloned a keyed HMAC. It is also safe for concurrent use.
func TestKeyNamesUnchanged(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	k, err := newKeyer("p:", secret)
	if err != nil {
		t.Fatal(err)
	}
	reference := func(n int, parts ...string) string {
		m := hmac.New(sha256.New, derive(secret, "names"))
		for _, p := range parts {
			m.Write([]byte(p))
			m.Write([]byte{0})
		}
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:n])
	}
	cases := [][]string{
		{"counter", "login/rate ip 10/1m deny", "ip=203.0.113.7/32"},
		{"value", "login/spray ip 5/1m", "bob"},
		{"once", "stepup", "\x00\xff binary id"},
		{"counter", "", ""},
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				for _, c := range cases {
					if got, want := k.hash(16, c...), reference(16, c...); got != want {
						t.Errorf("hash(%q) = %s, want %s", c, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// The form of a counter's names, for one known key.
	if got := k.counterKeys(k.counterTag("r", "s")).meta; got != "p:c{"+reference(16, "counter", "r", "s")+"}:m" {
		t.Errorf("counter meta key %s", got)
	}
}

// BenchmarkPrepare is what naming a login's counters and building their
// script calls costs the instance (a rate, a lockout reservation, its
// settlement), before any I/O.
func BenchmarkPrepare(b *testing.B) {
	k, err := newKeyer("login_guard:", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	s := &Counter{}
	l := counter.Lockout{Limit: 1000, Window: 15 * time.Minute, LockFor: 30 * time.Minute, Hold: time.Minute}
	lk := counter.Key{Rule: "login/lockout ip_user 1000/15m for 30m", Subject: "ip=127.0.0.1/32 user=alice"}
	ops := []counter.Op{
		{Kind: counter.OpTake, Key: counter.Key{Rule: "login/rate ip 10000/1m deny monitor", Subject: "ip=127.0.0.1/32"}, Limit: 10000, Window: time.Minute},
		{Kind: counter.OpReserve, Key: lk, Lockout: l},
		{Kind: counter.OpSettle, Key: lk, Lockout: l, Token: 1234567890123, Settlement: counter.Success},
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range ops {
			if _, err := s.prepare(k, &ops[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
