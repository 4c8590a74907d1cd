package counter

import (
	"context"
	"errors"
	"time"
)

var errUnknownOp = errors.New("counter: unknown batch operation")

// OpKind is what one batched operation does.
type OpKind uint8

const (
	// OpTake is Store.Take.
	OpTake OpKind = iota + 1
	// OpTakeDistinct is Store.TakeDistinct.
	OpTakeDistinct
	// OpReserve is Store.Reserve.
	OpReserve
	// OpSettle is Store.Settle.
	OpSettle
	// OpPeekLockout is Store.PeekLockout.
	OpPeekLockout
)

// Op is one operation of a batch: its inputs, then its outputs, which Do
// fills in.
type Op struct {
	Kind OpKind
	Key  Key
	// Limit and Window, for OpTake and OpTakeDistinct.
	Limit  int
	Window time.Duration
	// Value, for OpTakeDistinct.
	Value string
	// Lockout, for OpReserve, OpSettle and OpPeekLockout.
	Lockout Lockout
	// Token and Settlement, for OpSettle.
	Token      int64
	Settlement Settlement

	// Result is the answer of OpTake, OpTakeDistinct, OpReserve and
	// OpPeekLockout.
	Result Result
	// Recorded is Settle's boolean answer.
	Recorded bool
	// Err is the operation's error.
	Err error
}

// Batcher is a Store that runs several operations for one request at once:
// a shared store answers them in one round trip instead of one each.
// Each operation stays atomic for its key; the batch as a whole is not a
// transaction (operations on different keys may interleave with other
// requests' operations, exactly as separate calls would).
type Batcher interface {
	Store
	// Batch runs ops and fills in their outputs. Every op gets either an
	// answer or an error, except ops whose Kind is zero, which are skipped.
	Batch(ctx context.Context, ops []Op)
}

// Deferrer is a Store that can settle lockout slots after the request
// that held them has been answered: a shared store sends the settlements
// of many requests together, in the background, so no request waits for
// its settlement's round trip. Nothing is lost to the deferral: a slot
// counts against its lockout until its settlement lands, exactly as an
// in-flight attempt does.
type Deferrer interface {
	// Defer takes ops (OpSettle only; ops whose Kind is zero are
	// skipped) to send later, in the order taken, and returns without
	// waiting for them: while the store holds as many as it will queue it
	// first waits for room. It returns false, having taken nothing, when
	// it takes no more (it is closing); the caller then runs them itself.
	// Once they ran, done hears them with their outputs filled in, on
	// another goroutine. ops belongs to the store until then.
	Defer(ops []Op, done Settled) bool
}

// Settled hears settlements a Deferrer ran.
type Settled interface {
	Settled(ops []Op)
}

// Do runs ops on s: in one batch when s is a Batcher, one by one
// otherwise. Ops whose Kind is zero are skipped and keep zero outputs.
func Do(ctx context.Context, s Store, ops []Op) {
	if b, ok := s.(Batcher); ok {
		b.Batch(ctx, ops)
		return
	}
	for i := range ops {
		if ops[i].Kind != 0 {
			ops[i].runOn(ctx, s)
		}
	}
}

func (op *Op) runOn(ctx context.Context, s Store) {
	switch op.Kind {
	case OpTake:
		op.Result, op.Err = s.Take(ctx, op.Key, op.Limit, op.Window)
	case OpTakeDistinct:
		op.Result, op.Err = s.TakeDistinct(ctx, op.Key, op.Value, op.Limit, op.Window)
	case OpReserve:
		op.Result, op.Err = s.Reserve(ctx, op.Key, op.Lockout)
	case OpSettle:
		op.Recorded, op.Err = s.Settle(ctx, op.Key, op.Lockout, op.Token, op.Settlement)
	case OpPeekLockout:
		op.Result, op.Err = s.PeekLockout(ctx, op.Key, op.Lockout)
	default:
		op.Err = errUnknownOp
	}
}
