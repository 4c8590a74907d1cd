package loginid

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// userToken mints a valid token for user issued at iat.
func userToken(t testing.TB, key signingKey, user, nonce string, iat time.Time) string {
	t.Helper()
	c := validClaims(iat, nonce)
	c["udata"] = user
	return key.mint(t, c)
}

// wantUserLimit asserts err is the refusal of a user over their share.
func wantUserLimit(t testing.TB, err error, lifetime time.Duration) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Sub != SubReplayUserLimit || e.Reason != ReasonReplayUserLimit || ReasonOf(err) != ReasonReplayUserLimit {
		t.Fatalf("want %s/%s, got %v", ReasonReplayUserLimit, SubReplayUserLimit, err)
	}
	if e.Retryable() {
		t.Fatal("replay_user_limit must not be retryable: on_assertion_unverifiable must not let it through")
	}
	if e.RetryAfter != lifetime {
		t.Fatalf("RetryAfter %v, want %v", e.RetryAfter, lifetime)
	}
}

// TestOneUserCannotFillTheReplayCache: one account minting fresh tokens
// for its own name as fast as it can must not fill the replay cache, or
// every other user's token is refused (replay_cache_full) until the
// entries expire. Past its share its own tokens are refused, for it
// alone.
func TestOneUserCannotFillTheReplayCache(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayCacheSize = 200
	v := newTestVerifier(t, cfg)
	now := clock.Now()
	accepted := 0
	var last error
	for i := range 2 * cfg.ReplayCacheSize {
		_, err := v.Verify(bg, userToken(t, key, "mallory", fmt.Sprint("flood-", i), now), "mallory")
		if err == nil {
			accepted++
		} else {
			last = err
		}
	}
	if accepted != DefaultReplayPerUser {
		t.Errorf("one user had %d of the cache's %d entries, want its share %d", accepted, cfg.ReplayCacheSize, DefaultReplayPerUser)
	}
	wantUserLimit(t, last, 2*time.Minute+31*time.Second)
	if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "victim-1")), testUser); err != nil {
		t.Fatalf("another user's token after one user's flood: %v", err)
	}
}

// TestReplayUserLimitFreedByExpiry: a user at their share gets a slot
// back when their oldest entry expires, not before; tokens the cache did
// not record (a replay) take no slot; and spellings of one name that the
// guard counts as one user share one allowance.
func TestReplayUserLimitFreedByExpiry(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayPerUser = 3
	v := newTestVerifier(t, cfg)
	lifetime := 2*time.Minute + 31*time.Second
	first := clock.Now()
	used := userToken(t, key, "Mallory", "m-0", first)
	if _, err := v.Verify(bg, used, "Mallory"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	// A replay is refused as one and gives its slot back.
	for range 5 {
		_, err := v.Verify(bg, used, "Mallory")
		wantSub(t, err, SubReplayed)
	}
	// "mallory " and "MALLORY" are Mallory to the guard's counters.
	for i, name := range []string{"mallory ", "MALLORY"} {
		if _, err := v.Verify(bg, userToken(t, key, name, fmt.Sprint("m-", i+1), clock.Now()), name); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
	}
	_, err := v.Verify(bg, userToken(t, key, "mallory", "m-3", clock.Now()), "mallory")
	wantUserLimit(t, err, lifetime)
	// Another user is not limited.
	if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "other")), testUser); err != nil {
		t.Fatal(err)
	}
	// Just before the first entry expires the user is still at the limit;
	// at its expiry one slot is free again, one only.
	clock.Set(first.Add(lifetime - time.Second))
	_, err = v.Verify(bg, userToken(t, key, "mallory", "m-4", clock.Now()), "mallory")
	wantUserLimit(t, err, lifetime)
	clock.Set(first.Add(lifetime))
	if _, err := v.Verify(bg, userToken(t, key, "mallory", "m-5", clock.Now()), "mallory"); err != nil {
		t.Fatalf("after the oldest entry expired: %v", err)
	}
	_, err = v.Verify(bg, userToken(t, key, "mallory", "m-6", clock.Now()), "mallory")
	wantUserLimit(t, err, lifetime)
}

// TestReplayUserLimitGivesBackUnrecordedSlots: a token the replay cache
// could not record (full, or a store that failed) takes no slot of its
// user's share.
func TestReplayUserLimitGivesBackUnrecordedSlots(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	var fail atomic.Bool
	inner := NewMemoryReplayCache(100)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayPerUser = 2
	cfg.ReplayCache = replayFunc(func(k ReplayKey, until, now time.Time) error {
		if fail.Load() {
			return errors.New("store down")
		}
		return inner.Remember(k, until, now)
	})
	v := newTestVerifier(t, cfg)
	fail.Store(true)
	for i := range 10 {
		_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), fmt.Sprint("down-", i))), testUser)
		wantSub(t, err, SubReplayUnavailable)
	}
	fail.Store(false)
	for i := range 2 {
		if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), fmt.Sprint("up-", i))), testUser); err != nil {
			t.Fatalf("token %d once the store is back: %v", i, err)
		}
	}
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "up-2")), testUser)
	wantUserLimit(t, err, 2*time.Minute+31*time.Second)
}

// TestReplayUserLimitConcurrent: one user's tokens verified at once never
// take more than the share, and each refused one is a user-limit refusal.
func TestReplayUserLimitConcurrent(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayPerUser = 5
	v := newTestVerifier(t, cfg)
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = key.mint(t, validClaims(clock.Now(), fmt.Sprint("c-", i)))
	}
	var accepted, limited atomic.Int64
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Go(func() {
			switch _, err := v.Verify(bg, tok, testUser); SubReason(err) {
			case "":
				accepted.Add(1)
			case SubReplayUserLimit:
				limited.Add(1)
			default:
				t.Errorf("unexpected refusal: %v", err)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 5 || limited.Load() != int64(len(tokens)-5) {
		t.Fatalf("accepted %d, limited %d of %d; want 5 accepted", accepted.Load(), limited.Load(), len(tokens))
	}
}

// TestUserSharesForgetExpiredSlots: the shares hold nothing for a user
// whose slots all expired or were given back, so their memory follows
// the live entries.
func TestUserSharesForgetExpiredSlots(t *testing.T) {
	s := newUserShares(2)
	now := time.Unix(1_700_000_000, 0).UnixNano()
	for i := range 1000 {
		u := s.user(fmt.Sprint("user-", i))
		for j, want := range []bool{true, true, false} {
			if s.take(u, now) != want {
				t.Fatalf("user %d, take %d: the share of 2 was not exact", i, j)
			}
		}
		s.keep(u, now+int64(time.Minute))
		s.give(u)
	}
	if len(s.count) != 1000 || len(s.kept) != 1000 {
		t.Fatalf("%d users, %d slots held; want 1000 each", len(s.count), len(s.kept))
	}
	u := s.user("late")
	if !s.take(u, now+int64(time.Minute)) {
		t.Fatal("refused after every slot expired")
	}
	if len(s.count) != 1 || len(s.kept) != 0 {
		t.Fatalf("after expiry: %d users, %d slots held; want 1, 0", len(s.count), len(s.kept))
	}
}

// The key is the guard's counting form of the name.
func TestUserSharesKeyIsTheCountingForm(t *testing.T) {
	s := newUserShares(1)
	for _, name := range []string{"JLópez", " jlopez", "JLOPEZ"} {
		if s.user(name) != s.user(rules.Normalizer{}.User("jlopez")) {
			t.Errorf("%q is not counted as jlopez", name)
		}
	}
	if s.user("jlopez") == s.user("jlopez2") {
		t.Error("two names share a key")
	}
}
