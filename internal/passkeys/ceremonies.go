package passkeys

import (
	"container/list"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

type ceremonyKind uint8

const (
	kindRegister ceremonyKind = iota + 1
	kindLogin
)

type ceremony struct {
	id      string
	kind    ceremonyKind
	user    string
	session webauthn.SessionData
	expires time.Time
}

// ceremonies holds SessionData between Begin and Finish: bounded, with a
// fixed TTL (so insertion order is expiry order), one use.
type ceremonies struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	byID    map[string]*list.Element
	order   *list.List
	evicted uint64
	expired uint64
}

func newCeremonies(max int, ttl time.Duration, now func() time.Time) *ceremonies {
	return &ceremonies{max: max, ttl: ttl, now: now, byID: map[string]*list.Element{}, order: list.New()}
}

func (c *ceremonies) put(kind ceremonyKind, user string, s webauthn.SessionData) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.purge(now)
	for c.order.Len() >= c.max {
		c.remove(c.order.Front())
		c.evicted++
	}
	c.byID[id] = c.order.PushBack(&ceremony{id: id, kind: kind, user: user, session: s, expires: now.Add(c.ttl)})
	return id, nil
}

// take returns and forgets a ceremony: a Finish gets one try.
func (c *ceremonies) take(id string) (*ceremony, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge(c.now())
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return c.remove(el), true
}

func (c *ceremonies) purge(now time.Time) {
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		if now.Before(el.Value.(*ceremony).expires) {
			return
		}
		c.remove(el)
		c.expired++
	}
}

func (c *ceremonies) remove(el *list.Element) *ceremony {
	e := c.order.Remove(el).(*ceremony)
	delete(c.byID, e.id)
	return e
}

func (c *ceremonies) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge(c.now())
	return Stats{Ceremonies: c.order.Len(), Evicted: c.evicted, Expired: c.expired}
}
