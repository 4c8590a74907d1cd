package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrSeen: the value was already remembered and has not expired.
var ErrSeen = errors.New("redis store: already used")

// OnceSet remembers one-time values (a token's nonce, a spent step-up
// token) cluster-wide: the first Remember of a value wins on every
// instance. It always fails closed: an error means "refuse", whatever the
// routes' on_store_failure says, since accepting a value that could not
// be recorded would let it be replayed.
type OnceSet struct {
	c  *Conn
	ns string
}

// NewOnceSet returns the set named ns (a short constant such as
// "loginid"); sets with different names never collide.
func NewOnceSet(c *Conn, ns string) *OnceSet { return &OnceSet{c: c, ns: ns} }

// Remember records id for ttl. It returns nil when id was new, ErrSeen
// when it was already there, ErrFull when Redis is out of memory, and
// another error (wrapping ErrUnavailable) when Redis failed.
func (o *OnceSet) Remember(ctx context.Context, id []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	var fresh bool
	err := o.c.call(ctx, func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		// SET NX sent once: a resent SET after a lost reply would find
		// its own value and refuse a first use.
		cmd := redis.NewBoolCmd(ctx, "set", k.onceKey(o.ns, id), "1", "px", ttl.Milliseconds(), "nx")
		_ = cl.Process(ctx, noRetryBoolCmd{cmd})
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		fresh = cmd.Val()
		return nil
	})
	switch {
	case isOOM(err):
		return ErrFull
	case err != nil:
		return err
	case !fresh:
		return ErrSeen
	}
	return nil
}

type noRetryBoolCmd struct{ *redis.BoolCmd }

func (noRetryBoolCmd) NoRetry() bool { return true }

// Has reports whether id is remembered.
func (o *OnceSet) Has(ctx context.Context, id []byte) (bool, error) {
	var n int64
	err := o.c.call(ctx, func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		var err error
		n, err = cl.Exists(ctx, k.onceKey(o.ns, id)).Result()
		return err
	})
	return n == 1, err
}
