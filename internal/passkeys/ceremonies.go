package passkeys

import (
	"container/list"
	"context"
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
	// kindConfirm: an assertion with one of the account's passkeys, to
	// add another (BeginConfirm); it never finishes a step-up.
	kindConfirm
)

type ceremony struct {
	id      string
	kind    ceremonyKind
	user    string
	client  string
	session webauthn.SessionData
	expires time.Time
}

type clientKey struct{}

// WithClient names the client a Begin is for (its address prefix, say),
// so one client can hold only its share of the ceremonies in flight.
func WithClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
}

func clientOf(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// ceremonies holds SessionData between Begin and Finish: bounded in all
// and per client, with a fixed TTL (so insertion order is expiry order),
// one use. A Begin over a bound is refused (ReasonBusy): nobody else's
// ceremony is dropped to make room.
type ceremonies struct {
	max       int
	perClient int
	ttl       time.Duration
	now       func() time.Time

	mu       sync.Mutex
	byID     map[string]*list.Element
	order    *list.List
	byClient map[string]int
	refused  uint64
	expired  uint64
}

func newCeremonies(max, perClient int, ttl time.Duration, now func() time.Time) *ceremonies {
	return &ceremonies{max: max, perClient: perClient, ttl: ttl, now: now,
		byID: map[string]*list.Element{}, order: list.New(), byClient: map[string]int{}}
}

func (c *ceremonies) put(kind ceremonyKind, user, client string, s webauthn.SessionData) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.purge(now)
	if c.order.Len() >= c.max || (client != "" && c.byClient[client] >= c.perClient) {
		c.refused++
		return "", refused(ReasonBusy, nil)
	}
	c.byID[id] = c.order.PushBack(&ceremony{id: id, kind: kind, user: user, client: client, session: s, expires: now.Add(c.ttl)})
	if client != "" {
		c.byClient[client]++
	}
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
	if e.client != "" {
		if c.byClient[e.client]--; c.byClient[e.client] <= 0 {
			delete(c.byClient, e.client)
		}
	}
	return e
}

func (c *ceremonies) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge(c.now())
	return Stats{Ceremonies: c.order.Len(), Refused: c.refused, Expired: c.expired}
}
