package redisstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/rules/counter"
)

// adminTimeout bounds one admin List or Clear: they scan every master.
const adminTimeout = 30 * time.Second

// eachMaster runs fn on every master: the one server, or each Cluster
// master in turn. go-redis's ForEachMaster calls its function on every
// master at once, from goroutines of its own; fn's callers gather into
// shared lists and counts, so the calls are made one at a time here.
func (c *Conn) eachMaster(ctx context.Context, fn func(ctx context.Context, cl *redis.Client) error) error {
	cl, err := c.opened()
	if err != nil {
		return err
	}
	switch x := cl.(type) {
	case *redis.ClusterClient:
		var mu sync.Mutex
		return x.ForEachMaster(ctx, func(ctx context.Context, cl *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return fn(ctx, cl)
		})
	case *redis.Client:
		return fn(ctx, x)
	}
	return fmt.Errorf("redis store: unexpected client %T", cl)
}

// counterView is one counter as peekScript reads it.
type counterView struct {
	keys  counterKeys
	entry counter.Entry
}

// scanCounters calls fn for every live counter matching f.
func (s *Counter) scanCounters(ctx context.Context, f counter.Filter, fn func(counterView) error) error {
	_, k, err := s.c.ready()
	if err != nil {
		return err
	}
	pattern := k.prefix + "c{*}:m"
	return s.c.eachMaster(ctx, func(ctx context.Context, cl *redis.Client) error {
		it := cl.Scan(ctx, 0, pattern, 500).Iterator()
		for it.Next(ctx) {
			meta := it.Val()
			open, close := strings.IndexByte(meta, '{'), strings.IndexByte(meta, '}')
			if open < 0 || close < open {
				continue
			}
			tag := meta[open+1 : close]
			ks := k.counterKeys(tag)
			v, err := peekScript.Run(ctx, cl, []string{ks.meta, ks.a, ks.b}).Slice()
			if err == redis.Nil {
				continue // expired meanwhile
			}
			if err != nil {
				return err
			}
			e, err := parsePeek(k, tag, v)
			if err != nil {
				return err
			}
			if !filterMatches(&f, e) || (e.Count == 0 && e.LockedUntil.IsZero()) {
				continue
			}
			if err := fn(counterView{keys: ks, entry: e}); err != nil {
				return err
			}
		}
		return it.Err()
	})
}

func filterMatches(f *counter.Filter, e counter.Entry) bool {
	if f.Rule != "" && f.Rule != e.Key.Rule {
		return false
	}
	if f.Subject != "" && f.Subject != e.Key.Subject {
		return false
	}
	if f.Match != nil && !f.Match(e.Key) {
		return false
	}
	return !f.LimitedOnly || e.Limited
}

func parsePeek(k *keyer, tag string, v []any) (counter.Entry, error) {
	if len(v) != 8 {
		return counter.Entry{}, fmt.Errorf("redis store: unexpected peek reply %v", v)
	}
	str := func(i int) string { s, _ := v[i].(string); return s }
	num := func(i int) int64 { n, _ := v[i].(int64); return n }
	// A subject that does not open (sealed under key material this
	// instance does not hold) leaves the counter listed as unreadable:
	// one such counter must not hide every other from the admin view.
	subject, err := k.open(tag, str(2))
	unreadable := ""
	if err != nil {
		subject, unreadable = "", tag
	}
	e := counter.Entry{
		Key:        counter.Key{Rule: str(1), Subject: subject},
		Kind:       str(0),
		Limit:      int(num(3)),
		Count:      int(num(4)),
		Limited:    num(5) == 1,
		Unreadable: unreadable,
	}
	if e.Limited {
		e.RetryAfter = time.Duration(num(6)) * time.Microsecond
	}
	var lu int64
	if _, err := fmt.Sscan(str(7), &lu); err == nil && lu > 0 {
		e.LockedUntil = time.UnixMicro(lu)
	}
	return e, nil
}

// List implements counter.Store: it scans every master, so it sees what
// every instance counted. Entries come sorted by rule then subject (the
// unreadable ones, whose subject is empty, first within their rule). A
// counter whose subject does not open is listed as Unreadable, not an
// error: the others are still listed.
func (s *Counter) List(ctx context.Context, f counter.Filter, max int) ([]counter.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	var out []counter.Entry
	err := s.scanCounters(ctx, f, func(v counterView) error {
		out = append(out, v.entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key.Rule != out[j].Key.Rule {
			return out[i].Key.Rule < out[j].Key.Rule
		}
		if out[i].Key.Subject != out[j].Key.Subject {
			return out[i].Key.Subject < out[j].Key.Subject
		}
		return out[i].Unreadable < out[j].Unreadable
	})
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// Clear implements counter.Store: the counters go for every instance.
func (s *Counter) Clear(ctx context.Context, f counter.Filter) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	cl, _, err := s.c.ready()
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.scanCounters(ctx, f, func(v counterView) error {
		// One slot: a single DEL, also on a Cluster.
		if err := cl.Del(ctx, v.keys.meta, v.keys.a, v.keys.b).Err(); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}
