package loginid

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClient is the address tests send their tokens from.
var testClient = netip.MustParseAddr("192.0.2.1")

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
	wantShareLimit(t, err, SubReplayUserLimit, ReasonReplayUserLimit, lifetime)
}

// wantClientLimit asserts err is the refusal of a client network over
// its share.
func wantClientLimit(t testing.TB, err error, lifetime time.Duration) {
	t.Helper()
	wantShareLimit(t, err, SubReplayClientLimit, ReasonReplayClientLimit, lifetime)
}

func wantShareLimit(t testing.TB, err error, sub, reason string, lifetime time.Duration) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Sub != sub || e.Reason != reason || ReasonOf(err) != reason || !e.OverShare() {
		t.Fatalf("want %s/%s, got %v", reason, sub, err)
	}
	if e.Retryable() {
		t.Fatalf("%s must not be retryable: on_assertion_unverifiable must not let it through", sub)
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
		_, err := v.Verify(bg, userToken(t, key, "mallory", fmt.Sprint("flood-", i), now), "mallory", testClient)
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
	if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "victim-1")), testUser, testClient); err != nil {
		t.Fatalf("another user's token after one user's flood: %v", err)
	}
}

// TestReplayUserLimitFreedByExpiry: a user at their share gets a slot
// back when their oldest entry expires, not before; tokens the cache did
// not record (a replay) take no slot.
func TestReplayUserLimitFreedByExpiry(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayPerUser = 3
	v := newTestVerifier(t, cfg)
	lifetime := 2*time.Minute + 31*time.Second
	first := clock.Now()
	used := userToken(t, key, "mallory", "m-0", first)
	if _, err := v.Verify(bg, used, "mallory", testClient); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	// A replay is refused as one and gives its slot back.
	for range 5 {
		_, err := v.Verify(bg, used, "mallory", testClient)
		wantSub(t, err, SubReplayed)
	}
	for i := range 2 {
		if _, err := v.Verify(bg, userToken(t, key, "mallory", fmt.Sprint("m-", i+1), clock.Now()), "mallory", testClient); err != nil {
			t.Fatalf("token %d: %v", i+1, err)
		}
	}
	_, err := v.Verify(bg, userToken(t, key, "mallory", "m-3", clock.Now()), "mallory", testClient)
	wantUserLimit(t, err, lifetime)
	// Another user is not limited.
	if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "other")), testUser, testClient); err != nil {
		t.Fatal(err)
	}
	// Just before the first entry expires the user is still at the limit;
	// at its expiry one slot is free again, one only.
	clock.Set(first.Add(lifetime - time.Second))
	_, err = v.Verify(bg, userToken(t, key, "mallory", "m-4", clock.Now()), "mallory", testClient)
	wantUserLimit(t, err, lifetime)
	clock.Set(first.Add(lifetime))
	if _, err := v.Verify(bg, userToken(t, key, "mallory", "m-5", clock.Now()), "mallory", testClient); err != nil {
		t.Fatalf("after the oldest entry expired: %v", err)
	}
	_, err = v.Verify(bg, userToken(t, key, "mallory", "m-6", clock.Now()), "mallory", testClient)
	wantUserLimit(t, err, lifetime)
}

// TestAnotherSpellingCannotSpendAUsersShare: LoginID registration is
// self-service, so an attacker can register "ALICE" (or "Alice", or
// "alicé") and mint valid tokens under it. Those tokens must not spend
// alice's share of the replay cache, or her own sign-ins are refused for
// as long as the attacker keeps sending them. The share is the name as
// signed, byte for byte (Verify has checked it is the expected user's).
// The attacker's tokens come from other networks than alice's, as they
// would, so that only the user share is at stake here.
func TestAnotherSpellingCannotSpendAUsersShare(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	v := newTestVerifier(t, testConfig(newKeyHost(t, key), clock))
	for i, name := range []string{"ALICE", "Alice", "alice ", "alicé", "ＡＬＩＣＥ"} {
		from := netip.AddrFrom4([4]byte{203, 0, byte(i), 1})
		for j := range DefaultReplayPerUser {
			if _, err := v.Verify(bg, userToken(t, key, name, fmt.Sprint(name, "-", j), clock.Now()), name, from); err != nil {
				t.Fatalf("%q token %d: %v", name, j, err)
			}
		}
		_, err := v.Verify(bg, userToken(t, key, name, name+"-over", clock.Now()), name, from)
		wantUserLimit(t, err, 2*time.Minute+31*time.Second)
	}
	if _, err := v.Verify(bg, userToken(t, key, "alice", "alice-1", clock.Now()), "alice", testClient); err != nil {
		t.Fatalf("alice's own token after tokens of other spellings of her name: %v", err)
	}
}

// TestOneClientCannotFillTheReplayCache: one network sending the tokens
// of many names (self-registered accounts, or the spellings of one name
// a case-insensitive LoginID would sign) holds at most its share; past
// it its tokens are refused, for that network alone: another address of
// the same IPv4 /24 or IPv6 /48 (or an IPv4-mapped spelling) is the same
// network, one outside it is not.
func TestOneClientCannotFillTheReplayCache(t *testing.T) {
	lifetime := 2*time.Minute + 31*time.Second
	for _, tc := range []struct {
		name                string
		flood, same, others netip.Addr
	}{
		{"ipv4 /24", netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("::ffff:198.51.100.250"), netip.MustParseAddr("198.51.101.7")},
		{"ipv6 /48", netip.MustParseAddr("2001:db8:1:1::7"), netip.MustParseAddr("2001:db8:1:ffff:1:2:3:4"), netip.MustParseAddr("2001:db8:2::7")},
		{"no address", netip.Addr{}, netip.Addr{}, testClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			key := newSigningKey(t, testKID)
			cfg := testConfig(newKeyHost(t, key), clock)
			cfg.ReplayCacheSize = 100
			cfg.ReplayPerUser = 2
			cfg.ReplayPerClient = 10
			v := newTestVerifier(t, cfg)
			accepted := 0
			var last error
			for i := range cfg.ReplayCacheSize {
				name := fmt.Sprint("mallory", i/2) // two tokens per name: each name within its share
				if _, err := v.Verify(bg, userToken(t, key, name, fmt.Sprint("flood-", i), clock.Now()), name, tc.flood); err == nil {
					accepted++
				} else {
					last = err
				}
			}
			if accepted != cfg.ReplayPerClient {
				t.Errorf("one network had %d of the cache's %d entries, want its share %d", accepted, cfg.ReplayCacheSize, cfg.ReplayPerClient)
			}
			wantClientLimit(t, last, lifetime)
			// The network's share counts a user within theirs as well.
			_, err := v.Verify(bg, userToken(t, key, "alice", "alice-same", clock.Now()), "alice", tc.same)
			wantClientLimit(t, err, lifetime)
			if _, err := v.Verify(bg, userToken(t, key, "alice", "alice-other", clock.Now()), "alice", tc.others); err != nil {
				t.Fatalf("a token from another network after one network's flood: %v", err)
			}
			// Once the flood's entries expire the network has its share again.
			clock.Advance(lifetime)
			if _, err := v.Verify(bg, userToken(t, key, "alice", "alice-later", clock.Now()), "alice", tc.flood); err != nil {
				t.Fatalf("after the flood's entries expired: %v", err)
			}
		})
	}
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
		_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), fmt.Sprint("down-", i))), testUser, testClient)
		wantSub(t, err, SubReplayUnavailable)
	}
	fail.Store(false)
	for i := range 2 {
		if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), fmt.Sprint("up-", i))), testUser, testClient); err != nil {
			t.Fatalf("token %d once the store is back: %v", i, err)
		}
	}
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "up-2")), testUser, testClient)
	wantUserLimit(t, err, 2*time.Minute+31*time.Second)
}

// TestReplaySharesConcurrent: tokens verified at once never take more
// than either share, and each refused one is refused for the share that
// is full. One user from many networks is bounded by the user's share;
// many users from one network by the network's.
func TestReplaySharesConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		user func(i int) string
		from func(i int) netip.Addr
		sub  string
	}{
		{"one user", func(int) string { return testUser },
			func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, byte(i), 1}) }, SubReplayUserLimit},
		{"one network", func(i int) string { return fmt.Sprint("user-", i) },
			func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }, SubReplayClientLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			key := newSigningKey(t, testKID)
			cfg := testConfig(newKeyHost(t, key), clock)
			cfg.ReplayPerUser = 5
			cfg.ReplayPerClient = 5
			v := newTestVerifier(t, cfg)
			type req struct {
				token, user string
				from        netip.Addr
			}
			reqs := make([]req, 64)
			for i := range reqs {
				u := tc.user(i)
				reqs[i] = req{userToken(t, key, u, fmt.Sprint("c-", i), clock.Now()), u, tc.from(i)}
			}
			var accepted, limited atomic.Int64
			var wg sync.WaitGroup
			for _, r := range reqs {
				wg.Go(func() {
					switch _, err := v.Verify(bg, r.token, r.user, r.from); SubReason(err) {
					case "":
						accepted.Add(1)
					case tc.sub:
						limited.Add(1)
					default:
						t.Errorf("unexpected refusal: %v", err)
					}
				})
			}
			wg.Wait()
			if accepted.Load() != 5 || limited.Load() != int64(len(reqs)-5) {
				t.Fatalf("accepted %d, limited %d of %d; want 5 accepted", accepted.Load(), limited.Load(), len(reqs))
			}
		})
	}
}

// TestReplaySharesForgetExpiredSlots: the shares hold nothing for a user
// or a network whose slots all expired or were given back, so their
// memory follows the live entries.
func TestReplaySharesForgetExpiredSlots(t *testing.T) {
	s := newReplayShares(2, 3)
	now := time.Unix(1_700_000_000, 0).UnixNano()
	for i := range 1000 {
		k := s.key(fmt.Sprint("user-", i), netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}))
		for j, want := range []string{"", "", SubReplayUserLimit} {
			if got := s.take(k, now); got != want {
				t.Fatalf("user %d, take %d: %q, want %q: the share of 2 was not exact", i, j, got, want)
			}
		}
		s.keep(k, now+int64(time.Minute))
		s.give(k)
	}
	if len(s.users) != 1000 || len(s.clients) != 1000 || len(s.userKept) != 1000 || len(s.clientKept) != 1000 {
		t.Fatalf("%d users, %d clients, %d slots held; want 1000 each", len(s.users), len(s.clients), len(s.userKept))
	}
	k := s.key("late", testClient)
	if s.take(k, now+int64(time.Minute)) != "" {
		t.Fatal("refused after every slot expired")
	}
	if len(s.users) != 1 || len(s.clients) != 1 || len(s.userKept) != 0 || len(s.clientKept) != 0 {
		t.Fatalf("after expiry: %d users, %d clients, %d slots held; want 1, 1, 0", len(s.users), len(s.clients), len(s.userKept))
	}
}

// The user key is the name as signed; the client key the address's /24
// or /48, exactly.
func TestReplayShareKeys(t *testing.T) {
	s := newReplayShares(1, 1)
	for _, name := range []string{"JLopez", " jlopez", "JLOPEZ", "jlópez", "jlopez "} {
		if s.key(name, testClient).user == s.key("jlopez", testClient).user {
			t.Errorf("%q shares jlopez's key", name)
		}
	}
	if a, b := s.key("jlopez", testClient), s.key("jlopez", netip.MustParseAddr("192.0.2.99")); a != b {
		t.Error("one name from one network, two keys")
	}
	same := [][2]string{
		{"192.0.2.1", "192.0.2.254"},
		{"192.0.2.1", "::ffff:192.0.2.9"},
		{"2001:db8:a::1", "2001:db8:a:ffff:ffff:ffff:ffff:ffff"},
		{"fe80::1%eth0", "fe80::2"},
	}
	apart := [][2]string{
		{"192.0.2.1", "192.0.3.1"},
		{"192.0.2.1", "193.0.2.1"},
		{"2001:db8:a::1", "2001:db8:b::1"},
		{"2001:db8:a::1", "2001:db9:a::1"},
		{"0.0.0.0", "::"},           // IPv4 and IPv6 networks are apart
		{"192.0.2.1", "::c000:201"}, // an IPv4-compatible IPv6 address is IPv6
		{"2001:db8:a::1", "0.0.0.0"},
	}
	for _, p := range same {
		if clientNet(netip.MustParseAddr(p[0])) != clientNet(netip.MustParseAddr(p[1])) {
			t.Errorf("%s and %s are one network", p[0], p[1])
		}
	}
	for _, p := range apart {
		if clientNet(netip.MustParseAddr(p[0])) == clientNet(netip.MustParseAddr(p[1])) {
			t.Errorf("%s and %s are two networks", p[0], p[1])
		}
	}
	if clientNet(netip.Addr{}) == clientNet(netip.MustParseAddr("0.0.0.0")) || clientNet(netip.Addr{}) == clientNet(netip.MustParseAddr("::")) {
		t.Error("no address shares a network's key")
	}
}

// TestRegistrationTokensCountInTheShares: VerifyRegistration records
// registration tokens in the same replay cache, so they take slots of
// the same shares.
func TestRegistrationTokensCountInTheShares(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayPerClient = 2
	v := newTestVerifier(t, cfg)
	register := func(user, nonce string, from netip.Addr) error {
		c := validClaims(clock.Now(), nonce)
		c["udata"], c["type"] = user, "fido2_register"
		_, err := v.VerifyRegistration(bg, key.mint(t, c), user, from)
		return err
	}
	for i := range 2 {
		if err := register(fmt.Sprint("new-", i), fmt.Sprint("r-", i), testClient); err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	wantClientLimit(t, register("new-2", "r-2", testClient), 2*time.Minute+31*time.Second)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "auth")), testUser, testClient)
	wantClientLimit(t, err, 2*time.Minute+31*time.Second)
	if err := register("new-2", "r-3", netip.MustParseAddr("2001:db8::1")); err != nil {
		t.Fatalf("a registration from another network: %v", err)
	}
}
