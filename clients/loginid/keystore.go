package loginid

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/time/rate"
)

// keyEntry is a cached public key and when it was fetched.
type keyEntry struct {
	kid     string
	key     *ecdsa.PublicKey
	fetched time.Time
}

// flight is one key host request that concurrent lookups share.
type flight struct {
	done chan struct{}
	keys map[string]*ecdsa.PublicKey
	err  error
}

// keyStore resolves a kid to a public key. Keys live in ristretto (a lost
// entry only costs a refetch). A miss triggers a fetch that is:
//   - de-duplicated: concurrent lookups for what one request answers share
//     it (per kid in PEM mode, one for the whole set in JWKS mode);
//   - rate limited: a token bucket gates every request to the host, and a
//     lookup that finds the bucket empty fails at once (unknown_kid, or
//     key_unavailable while the host's last request failed) instead of
//     waiting, so a kid flood costs neither host requests nor request
//     latency;
//   - given to demand (PEM mode): a token goes to the kid whose lookups
//     the empty bucket refused most often (demandTable), fetched in the
//     background if another lookup found the token, so a flood of
//     made-up kids does not keep a new key out;
//   - detached from the request: it runs on its own goroutine with
//     FetchTimeout, so a caller giving up does not fail the others. Close
//     cancels and waits for these goroutines;
//   - waited for briefly while the host's last request failed (downWait):
//     past that the lookup fails (key_unavailable) and the fetch finds
//     out in the background whether the host is back.
//
// Kids the host does not know go to a bounded negative cache. A key older
// than KeyTTL is re-checked in the background; while the host is down (or
// the bucket is empty) the stale key keeps verifying.
type keyStore struct {
	mode     string
	src      keySource
	now      func() time.Time
	ttl      time.Duration
	negTTL   time.Duration
	timeout  time.Duration
	observer Observer

	// limiter gates fetches for kids not in the cache, refresh the
	// re-checks of cached kids past KeyTTL: two buckets of the same
	// shape, so a flood of made-up kids (anyone can send one; the key is
	// looked up before the signature is checked) cannot starve the
	// re-check that notices a key the host has retired.
	limiter *rate.Limiter
	refresh *rate.Limiter
	neg     *negCache
	// demand (PEM mode only, guarded by fmu) counts the lookups limiter
	// refused, per kid, so its next token goes to the kid asked for most:
	// a flood of made-up kids, each sent once, cannot keep the token from
	// a new key that many users ask for. In JWKS mode any fetch answers
	// every kid, so it is nil.
	demand *demandTable

	// closed is set once by close, under both locks below.
	closed atomic.Bool
	// hostDown is the failure of the last key host request that did not
	// get an answer (nil once one does, a key or a "no such key"): a kid
	// whose fetch the bucket refuses while the host is down is a key the
	// guard could not look up, not one the host disowns.
	hostDown atomic.Pointer[error]
	// cmu guards the cache's lifetime: lookups hold it shared, close
	// exclusively, so ristretto is never used after Close. Nothing else
	// takes it exclusively, so the hot path never waits.
	cmu   sync.RWMutex
	cache *ristretto.Cache[string, *keyEntry]
	// fmu guards flights and orders wg.Add before close's wg.Wait.
	fmu     sync.Mutex
	flights map[string]*flight

	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newKeyStore(cfg *Config, src keySource) (*keyStore, error) {
	cache, err := ristretto.NewCache(&ristretto.Config[string, *keyEntry]{
		NumCounters:        int64(cfg.KeyCacheSize) * 10,
		MaxCost:            int64(cfg.KeyCacheSize),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	var demand *demandTable
	if cfg.Mode == ModePEM {
		demand = newDemandTable()
	}
	return &keyStore{
		mode:     cfg.Mode,
		src:      src,
		now:      cfg.Now,
		ttl:      cfg.KeyTTL,
		negTTL:   cfg.NegativeTTL,
		timeout:  cfg.FetchTimeout,
		observer: cfg.Observer,
		limiter:  rate.NewLimiter(rate.Every(cfg.FetchInterval), cfg.FetchBurst),
		refresh:  rate.NewLimiter(rate.Every(cfg.FetchInterval), cfg.FetchBurst),
		neg:      newNegCache(cfg.NegativeCacheSize),
		demand:   demand,
		cache:    cache,
		flights:  make(map[string]*flight),
		base:     base,
		cancel:   cancel,
	}, nil
}

// lookup returns the key for a validated kid.
func (s *keyStore) lookup(ctx context.Context, kid string) (*ecdsa.PublicKey, *Error) {
	s.cmu.RLock()
	if s.closed.Load() {
		s.cmu.RUnlock()
		return nil, fail(SubClosed)
	}
	e, ok := s.cache.Get(kid)
	s.cmu.RUnlock()

	now := s.now()
	if ok && e.kid == kid {
		if now.Sub(e.fetched) < s.ttl {
			return e.key, nil
		}
		return s.refreshStale(e), nil
	}
	if s.neg.has(kid, now) {
		return nil, fail(SubUnknownKID)
	}
	key, err := s.fetch(ctx, kid)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, errNotFound):
		return nil, fail(SubUnknownKID)
	case errors.Is(err, errRateLimited):
		if down := s.hostDown.Load(); down != nil {
			return nil, failCause(SubKeyUnavailable, *down)
		}
		return nil, fail(SubUnknownKID)
	case errors.Is(err, errStoreClosed):
		return nil, fail(SubClosed)
	}
	return nil, failCause(SubKeyUnavailable, err)
}

// refreshStale re-checks an entry older than KeyTTL without making the
// request wait: the stale key is used now, and a background refresh (if
// the bucket allows one) replaces it, or removes it when the host says
// the kid is gone. So a hanging key host never slows verification of a
// cached kid, at the price of one refresh's delay in noticing a retired
// kid.
func (s *keyStore) refreshStale(e *keyEntry) *ecdsa.PublicKey {
	_, _ = s.join(e.kid, s.refresh)
	return e.key
}

var (
	errRateLimited = errors.New("key fetch rate limited")
	errStoreClosed = errors.New("verifier closed")
)

// join returns the flight that answers kid, starting one if bucket
// allows.
//
// For limiter in PEM mode, a token goes to the kid the demand table
// ranks highest: when another kid has been refused more often than kid
// (counting this lookup), the token starts that kid's fetch, in the
// background, and this lookup is refused as if the bucket were empty.
// Either way the bucket pays for exactly one host request, and nobody
// waits for a fetch they did not ask for.
func (s *keyStore) join(kid string, bucket *rate.Limiter) (*flight, error) {
	fk := s.src.flightKey(kid)
	s.fmu.Lock()
	if s.closed.Load() {
		s.fmu.Unlock()
		return nil, errStoreClosed
	}
	if f, ok := s.flights[fk]; ok {
		s.fmu.Unlock()
		return f, nil
	}
	demand := s.demand
	if bucket != s.limiter {
		demand = nil
	}
	if !bucket.AllowN(s.now(), 1) {
		if demand != nil {
			demand.refused(kid)
		}
		s.fmu.Unlock()
		return nil, s.rateLimited(kid)
	}
	if demand != nil {
		if top, n := demand.top(); n > demand.rank(kid) {
			demand.remove(top)
			tk := s.src.flightKey(top)
			if _, busy := s.flights[tk]; !busy {
				demand.refused(kid)
				s.start(tk, top)
				s.fmu.Unlock()
				return nil, s.rateLimited(kid)
			}
		}
		demand.remove(kid)
	}
	f := s.start(fk, kid)
	s.fmu.Unlock()
	return f, nil
}

// rateLimited reports a lookup the bucket refused. Called outside fmu:
// the observer is the caller's code.
func (s *keyStore) rateLimited(kid string) error {
	s.observer.ObserveFetch(FetchReport{Mode: s.mode, Outcome: FetchRateLimited, KID: kid})
	return errRateLimited
}

// start begins the flight fk that fetches kid. fmu must be held.
func (s *keyStore) start(fk, kid string) *flight {
	f := &flight{done: make(chan struct{})}
	s.flights[fk] = f
	s.wg.Add(1)
	go s.run(fk, kid, f)
	return f
}

// downWait is the longest a lookup waits for a fetch while the key
// host's last request failed (FetchTimeout if that is shorter): long
// enough for a host that is back to answer, so the first login after an
// outage is not refused, short enough that a host still hanging costs
// logins little.
const downWait = 500 * time.Millisecond

// fetch joins or starts the flight that answers kid and waits for it or
// for ctx. While the key host's last request failed, it waits at most
// downWait: past that the flight goes on in the background (and caches
// what it gets), and the lookup fails with the host's last failure. A key
// host that hangs then holds logins for FetchTimeout once, as the outage
// begins, and for downWait at most afterwards, and a flood of tokens
// cannot park requests on it.
func (s *keyStore) fetch(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	f, err := s.join(kid, s.limiter)
	if err != nil {
		return nil, err
	}
	var giveUp <-chan time.Time
	down := s.hostDown.Load()
	if down != nil {
		t := time.NewTimer(min(downWait, s.timeout))
		defer t.Stop()
		giveUp = t.C
	}
	select {
	case <-f.done:
	case <-giveUp:
		return nil, *down
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	if key := f.keys[kid]; key != nil {
		return key, nil
	}
	// A JWKS without this kid: as definitive as a 404 in PEM mode.
	now := s.now()
	s.neg.add(kid, now.Add(s.negTTL), now)
	return nil, errNotFound
}

// run performs one key host request and publishes its result.
func (s *keyStore) run(fk, kid string, f *flight) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.base, s.timeout)
	start := s.now()
	keys, status, err := s.src.fetch(ctx, kid)
	cancel()
	now := s.now()

	rep := FetchReport{Mode: s.mode, KID: kid, Status: status, Duration: now.Sub(start)}
	switch {
	case err == nil:
		rep.Outcome = FetchOK
		s.hostDown.Store(nil)
		s.store(keys, now)
		if keys[kid] == nil {
			s.forget(kid, now)
		}
	case errors.Is(err, errNotFound):
		rep.Outcome = FetchNotFound
		s.hostDown.Store(nil)
		s.forget(kid, now)
	default:
		rep.Outcome, rep.Err = FetchError, err
		if s.base.Err() == nil { // not a fetch that Close cancelled
			s.hostDown.Store(&err)
		}
	}
	f.keys, f.err = keys, err

	s.fmu.Lock()
	delete(s.flights, fk)
	if s.demand != nil {
		// Answered (cached or negative-cached) or failed: either way
		// the refusals counted so far are spent.
		s.demand.remove(kid)
	}
	s.fmu.Unlock()
	close(f.done)
	s.observer.ObserveFetch(rep)
}

// forget records that the host disowns kid: out of the key cache (it may
// have been a stale entry being re-checked) and into the negative cache.
func (s *keyStore) forget(kid string, now time.Time) {
	s.neg.add(kid, now.Add(s.negTTL), now)
	s.cmu.RLock()
	if !s.closed.Load() {
		s.cache.Del(kid)
		s.cache.Wait()
	}
	s.cmu.RUnlock()
}

// store caches freshly fetched keys and clears them from the negative
// cache. Wait makes the entries visible before the flight completes, so
// the next lookup hits; fetches are rare, so the wait is cheap.
func (s *keyStore) store(keys map[string]*ecdsa.PublicKey, now time.Time) {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	if s.closed.Load() {
		return
	}
	for kid, key := range keys {
		s.neg.remove(kid)
		s.cache.Set(kid, &keyEntry{kid: kid, key: key, fetched: now}, 1)
	}
	s.cache.Wait()
}

// close stops new fetches, cancels running ones, waits for their
// goroutines and releases the cache's goroutines.
func (s *keyStore) close() {
	s.fmu.Lock()
	if s.closed.Load() {
		s.fmu.Unlock()
		return
	}
	s.closed.Store(true)
	s.fmu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.cmu.Lock()
	s.cache.Close()
	s.cmu.Unlock()
}
