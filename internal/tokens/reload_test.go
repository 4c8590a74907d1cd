package tokens

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// unknownKeyError is what a keyset answers for a token another keyset
// (a rotated-in key it has not read) sealed.
func unknownKeyError(t *testing.T) error {
	t.Helper()
	now := time.Now()
	mk := func() *Keyset {
		st, err := NewStored(now)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := NewKeyset(st)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	tok, err := mk().Seal("session", map[string]string{"u": "x"}, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var dst map[string]string
	return mk().Open("session", tok, now, &dst)
}

func TestReloaderMissed(t *testing.T) {
	miss := unknownKeyError(t)
	var loads atomic.Int32
	release := make(chan struct{})
	r := &Reloader{missEvery: time.Hour, missWait: 5 * time.Second}
	r.Start(func() { loads.Add(1); <-release }, time.Hour)
	defer r.Stop()

	var forged error = errForged
	if r.Missed(context.Background(), forged) || r.Missed(context.Background(), nil) || loads.Load() != 0 {
		t.Fatal("a token refused for another reason, or none refused, made a reload")
	}
	// Misses at once share one load and wait for it.
	var wg sync.WaitGroup
	var returned atomic.Int32
	for range 8 {
		wg.Go(func() {
			if !r.Missed(context.Background(), miss) {
				t.Error("an unknown key's refusal was not taken as a miss")
			}
			returned.Add(1)
		})
	}
	for loads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if returned.Load() != 0 {
		t.Fatal("a miss returned before the load it waits for ended")
	}
	released := time.Now()
	close(release)
	wg.Wait()
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if last.Before(released) {
		t.Fatal("the load's end does not count as the last load (a hung storage would be asked again at once)")
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for misses at once, want 1", n)
	}
	// Another miss soon after loads nothing; one after missEvery does.
	r.Missed(context.Background(), miss)
	if n := loads.Load(); n != 1 {
		t.Fatalf("a miss within missEvery of the last load loaded (%d loads)", n)
	}
	r.mu.Lock()
	r.last = r.last.Add(-time.Hour) // missEvery has passed
	r.mu.Unlock()
	r.Missed(context.Background(), miss)
	if n := loads.Load(); n != 2 {
		t.Fatalf("a miss after missEvery: %d loads, want 2", n)
	}
}

// TestReloaderMissWaitBounded: a load that hangs (a stuck storage) holds
// a request back for missWait at most, or until its context ends.
func TestReloaderMissWaitBounded(t *testing.T) {
	miss := unknownKeyError(t)
	hang := make(chan struct{})
	defer close(hang)
	r := &Reloader{missEvery: time.Hour, missWait: 100 * time.Millisecond}
	r.Start(func() { <-hang }, time.Hour)
	start := time.Now()
	r.Missed(context.Background(), miss)
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("waited %v for a hung load, want about 100ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	r.Missed(ctx, miss) // joins the load under way
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %v with its context ended", d)
	}
}

func TestReloaderTimerAndStop(t *testing.T) {
	var r0 Reloader
	r0.Stop() // before Start: nothing to stop
	if !r0.Missed(context.Background(), unknownKeyError(t)) {
		t.Fatal("a reloader never started does not tell a miss")
	}

	loaded := make(chan struct{}, 16)
	r := &Reloader{}
	r.Start(func() { loaded <- struct{}{} }, 20*time.Millisecond)
	for range 2 {
		select {
		case <-loaded:
		case <-time.After(5 * time.Second):
			t.Fatal("the timer never loaded")
		}
	}
	r.Stop()
	r.Stop()
	for len(loaded) > 0 {
		<-loaded
	}
	r.Missed(context.Background(), unknownKeyError(t))
	time.Sleep(100 * time.Millisecond)
	if len(loaded) != 0 {
		t.Fatal("a load ran after Stop")
	}
}
