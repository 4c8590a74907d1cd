package loginid

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// forgedToken is what a kid flood sends: a token for a made-up kid whose
// signature verifies under no key. The kid is looked up before the
// signature is checked, so making one up costs nothing.
func forgedToken(t testing.TB, kid string, now time.Time) string {
	t.Helper()
	header := b64json(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid})
	return header + "." + b64json(t, validClaims(now, kid)) + "." + b64(make([]byte, 64))
}

// rotationUnderFlood: LoginID rotates its signing key while a flood of
// distinct made-up kids, 500 times the bucket's rate, has emptied the
// bucket and goes on; real logins
// signed by the new key arrive one every two seconds. At every tick the
// flood goes first, so any token the bucket refilled is seen by a made-up
// kid before a real login (the worst case for the real users). It returns
// when the first real token verified (-1 if none did) and checks that
// every later one verified too and that the key host saw no more requests
// than the bucket allows.
func rotationUnderFlood(t *testing.T, mode string) time.Duration {
	clock := newTestClock()
	old := newSigningKey(t, testKID)
	host := newKeyHost(t, old)
	cfg := testConfig(host, clock) // FetchBurst 3, FetchInterval 10 s
	if mode == ModeJWKS {
		cfg.Mode, cfg.KeyURL = ModeJWKS, host.jwksURL()
	}
	v := newTestVerifier(t, cfg)
	start := clock.Now()
	if _, err := v.Verify(bg, old.mint(t, validClaims(clock.Now(), "before")), testUser, testClient); err != nil {
		t.Fatalf("old key: %v", err)
	}

	// The flood is already running: the bucket is empty.
	for i := range DefaultFetchBurst {
		_, err := v.Verify(bg, forgedToken(t, fmt.Sprint("early-", i), clock.Now()), testUser, testClient)
		wantSub(t, err, SubUnknownKID)
	}
	rotated := newSigningKey(t, "kid-rotated-2")
	host.setKeys(old, rotated)

	const (
		ticks        = 100 // per FetchInterval: one every 100 ms
		floodPerTick = 5   // 50 made-up kids a second
		realEvery    = 20  // a real login every 2 s
		intervals    = 6
	)
	tick := DefaultFetchInterval / ticks
	firstOK := time.Duration(-1)
	fake := 0
	for i := range intervals * ticks {
		for range floodPerTick {
			fake++
			_, err := v.Verify(bg, forgedToken(t, fmt.Sprint("made-up-", fake), clock.Now()), testUser, testClient)
			wantSub(t, err, SubUnknownKID)
		}
		if i%realEvery == 0 {
			_, err := v.Verify(bg, rotated.mint(t, validClaims(clock.Now(), fmt.Sprint("real-", i))), testUser, testClient)
			switch {
			case err == nil && firstOK < 0:
				firstOK = clock.Now().Sub(start)
			case err != nil && firstOK >= 0:
				t.Fatalf("a real token failed after the new key was fetched: %v", err)
			case err != nil:
				wantSub(t, err, SubUnknownKID)
			}
		}
		clock.Advance(tick)
	}

	// Close waits for fetches still running; every fetch is one request.
	elapsed := clock.Now().Sub(start)
	v.Close()
	budget := int64(DefaultFetchBurst) + int64(elapsed/DefaultFetchInterval)
	if n := host.pemReqs.Load() + host.jwksReqs.Load(); n > budget {
		t.Fatalf("key host saw %d requests in %v, the bucket allows %d", n, elapsed, budget)
	}
	if mode == ModePEM {
		n := 0
		host.mu.Lock()
		defer host.mu.Unlock()
		for _, q := range host.observed {
			if q.Get("kid") == rotated.kid {
				n++
			}
		}
		if firstOK >= 0 && n != 1 {
			t.Fatalf("the new kid was requested %d times, want once", n)
		}
	}
	t.Logf("%s: %d made-up kids, %d key host requests, first real token verified %v after the rotation",
		mode, fake, host.pemReqs.Load()+host.jwksReqs.Load(), firstOK)
	return firstOK
}

// In PEM mode each request answers one kid: the refilled token has to go
// to the new kid rather than to the made-up kid that saw it first. The new
// kid, refused twice in the first interval, is fetched with the first
// token the bucket refills, one FetchInterval after the rotation.
func TestKidFloodDoesNotStarveANewKeyPEM(t *testing.T) {
	got := rotationUnderFlood(t, ModePEM)
	if got < 0 || got > DefaultFetchInterval {
		t.Fatalf("first real token verified after %v, want within one FetchInterval (%v)", got, DefaultFetchInterval)
	}
}

// In JWKS mode any fetch brings the whole set: the flood's own fetch with
// the first refilled token caches the new key.
func TestKidFloodDoesNotStarveANewKeyJWKS(t *testing.T) {
	got := rotationUnderFlood(t, ModeJWKS)
	if got < 0 || got > DefaultFetchInterval {
		t.Fatalf("first real token verified after %v, want within one FetchInterval (%v)", got, DefaultFetchInterval)
	}
}

// A made-up kid repeated to look in demand gets the token once: its
// fetch finds nothing, and from then on the negative cache answers it.
func TestRepeatedMadeUpKidIsFetchedOnce(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	log := &fetchLog{}
	cfg := testConfig(host, clock)
	cfg.FetchBurst = 1
	cfg.Observer = log
	v := newTestVerifier(t, cfg)

	verify := func(kid string) error {
		_, err := v.Verify(bg, forgedToken(t, kid, clock.Now()), testUser, testClient)
		return err
	}
	wantSub(t, verify("drain"), SubUnknownKID) // the one token: a 404
	for range 20 {
		wantSub(t, verify("repeated"), SubUnknownKID)
	}
	clock.Advance(DefaultFetchInterval)
	// The refilled token goes to "repeated", not to "fresh" which saw it.
	wantSub(t, verify("fresh"), SubUnknownKID)
	waitFor(t, func() bool { return log.count(FetchNotFound) == 2 })
	for range 20 {
		wantSub(t, verify("repeated"), SubUnknownKID) // negative-cached
	}
	if n := host.pemReqs.Load(); n != 2 {
		t.Fatalf("host saw %d requests, want 2", n)
	}
	var kids []string
	host.mu.Lock()
	for _, q := range host.observed {
		kids = append(kids, q.Get("kid"))
	}
	host.mu.Unlock()
	if fmt.Sprint(kids) != "[drain repeated]" {
		t.Fatalf("host was asked for %v", kids)
	}
	// The refused "fresh" lookup was counted: with the next token, it is
	// the lookup's own kid that is fetched.
	clock.Advance(DefaultFetchInterval)
	wantSub(t, verify("fresh"), SubUnknownKID)
	if n := host.pemReqs.Load(); n != 3 {
		t.Fatalf("host saw %d requests, want 3", n)
	}
}

// The table against a reference: a kid's count is never below the
// refusals recorded for it since it entered, a kid refused once counts at
// most floor+1, the index stays consistent, and the table stays bounded.
func TestDemandTable(t *testing.T) {
	d := newDemandTable()
	d.refused("a")
	d.refused("a")
	d.refused("b")
	if top, n := d.top(); top != "a" || n != 2 {
		t.Fatalf("top = %s/%d, want a/2", top, n)
	}
	if r := d.rank("a"); r != 3 {
		t.Fatalf("rank(a) = %d, want 3", r)
	}
	if r := d.rank("zz"); r != 1 {
		t.Fatalf("rank of an unseen kid = %d, want 1", r)
	}
	d.remove("a")
	if top, n := d.top(); top != "b" || n != 1 {
		t.Fatalf("after remove, top = %s/%d, want b/1", top, n)
	}
	d.remove("b")
	d.remove("b")
	if top, _ := d.top(); top != "" || len(d.idx) != 0 {
		t.Fatalf("empty table holds %v", d.slots)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	truth := map[string]uint64{} // refusals since the kid last entered
	for i := range 20_000 {
		var kid string
		switch r := rng.IntN(100); {
		case r < 5:
			kid = fmt.Sprint("hot-", rng.IntN(4))
		case r < 6:
			if top, _ := d.top(); top != "" {
				d.remove(top)
				delete(truth, top)
			}
			continue
		default:
			kid = fmt.Sprint("once-", i)
		}
		if _, in := d.idx[kid]; !in {
			truth[kid] = 0
		}
		d.refused(kid)
		truth[kid]++
		if truth[kid] == 1 && d.slots[d.idx[kid]].n > d.floor+1 {
			t.Fatalf("a kid refused once counts %d, floor %d", d.slots[d.idx[kid]].n, d.floor)
		}
		if len(d.slots) > demandSlots || len(d.idx) != len(d.slots) {
			t.Fatalf("table holds %d slots, %d indexed", len(d.slots), len(d.idx))
		}
		for k := range truth {
			if _, in := d.idx[k]; !in {
				delete(truth, k)
			}
		}
		for j, s := range d.slots {
			if d.idx[s.kid] != j {
				t.Fatalf("index of %s is %d, slot %d", s.kid, d.idx[s.kid], j)
			}
			if s.n < truth[s.kid] || s.n < d.floor {
				t.Fatalf("%s counts %d: refused %d times, floor %d", s.kid, s.n, truth[s.kid], d.floor)
			}
		}
	}

	// A kid asked for once in every 201 refusals, the others each asked
	// for once, ends on top of a full table, whatever came before.
	for i := range 50 {
		for j := range 200 {
			d.refused(fmt.Sprint("flood-", i, "-", j))
		}
		d.refused("real")
	}
	if top, n := d.top(); top != "real" || n < d.floor+2 {
		t.Fatalf("top is %q (%d, floor %d), want the kid asked for repeatedly", top, n, d.floor)
	}
}
