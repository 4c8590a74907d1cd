package counter

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// BenchmarkTakeExistingKey runs on the real clock with a short window so
// the key's log reaches a steady state instead of growing with b.N.
func BenchmarkTakeExistingKey(b *testing.B) {
	m, _ := NewMemory(MemoryConfig{MaxKeys: 100_000})
	k := Key{Rule: "login/rate_ip", Subject: "ip=203.0.113.7/32"}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		m.Take(bg, k, 1<<20, 20*time.Microsecond)
	}
}

func BenchmarkTakeExistingKeyAtLimit(b *testing.B) {
	m := newStore(b, 100_000, newFakeClock())
	k := Key{Rule: "login/rate_ip", Subject: "ip=203.0.113.7/32"}
	for i := 0; i < 10; i++ {
		m.Take(bg, k, 10, time.Minute)
	}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		m.Take(bg, k, 10, time.Minute)
	}
}

// BenchmarkTakeNewKey inserts a new key each time into a full store, so
// every call also evicts one.
func BenchmarkTakeNewKey(b *testing.B) {
	m := newStore(b, 10_000, newFakeClock())
	keys := make([]Key, 1<<20)
	for i := range keys {
		keys[i] = Key{Rule: "login/rate_ip", Subject: "ip=10." + strconv.Itoa(i)}
	}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	i := 0
	for b.Loop() {
		m.Take(bg, keys[i&(len(keys)-1)], 5, time.Minute)
		i++
	}
}

func BenchmarkTakeParallel(b *testing.B) {
	m, _ := NewMemory(MemoryConfig{MaxKeys: 100_000})
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = Key{Rule: "login/rate_ip", Subject: "ip=10." + strconv.Itoa(i)}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Take(bg, keys[i&1023], 1<<20, 20*time.Microsecond)
			i++
		}
	})
}

func BenchmarkReserveSettle(b *testing.B) {
	m := newStore(b, 100_000, newFakeClock())
	k := Key{Rule: "login/lockout_user", Subject: "user=jlopez"}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		r, _ := m.Reserve(bg, k, lk)
		m.Settle(bg, k, lk, r.Token, Release)
	}
}

func BenchmarkTakeDistinctExisting(b *testing.B) {
	m := newStore(b, 100_000, newFakeClock())
	k := Key{Rule: "login/spray_ip", Subject: "ip=203.0.113.7/32"}
	for i := 0; i < 20; i++ {
		m.TakeDistinct(bg, k, strconv.Itoa(i), 20, time.Minute)
	}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		m.TakeDistinct(bg, k, "7", 20, time.Minute)
	}
}

// BenchmarkCollectFullStore is one garbage collection of a process whose
// heap is mostly a store of the kind a credential-stuffing wave leaves:
// keys=100000 is a full store of rate keys with one hit each, keys=0 the
// same process with an empty one. Every collection walks the store, so
// the difference is what a full store adds to each of them.
func BenchmarkCollectFullStore(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			m := newStore(b, 100_000, newFakeClock())
			for i := range n {
				m.Take(bg, Key{Rule: "login/rate_ip", Subject: "ip=10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255) + "/32"}, 10_000, time.Minute)
			}
			runtime.GC()
			b.ReportAllocs()
			benchcpu.PerOp(b)
			for b.Loop() {
				runtime.GC()
			}
			runtime.KeepAlive(m)
		})
	}
}
