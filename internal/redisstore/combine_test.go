package redisstore

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/rules/counter"
)

// gatedSend is a stand-in round trip: it records what each call carried,
// answers every op with its subject's number, and waits for the gate.
type gatedSend struct {
	mu    sync.Mutex
	calls [][]string // the subjects of each call's ops, in order
	gate  chan struct{}
	ctxs  []context.Context
}

func (g *gatedSend) send(ctx context.Context, ops []counter.Op, _ int) {
	subjects := make([]string, len(ops))
	for i := range ops {
		subjects[i] = ops[i].Key.Subject
	}
	g.mu.Lock()
	g.calls = append(g.calls, subjects)
	g.ctxs = append(g.ctxs, ctx)
	g.mu.Unlock()
	<-g.gate
	for i := range ops {
		n, _ := strconv.Atoi(ops[i].Key.Subject)
		ops[i].Result = counter.Result{Allowed: true, Count: n}
	}
}

func (g *gatedSend) callCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// underWay starts a request whose round trip waits for g's gate, and
// returns once it is under way.
func underWay(cb *combiner, g *gatedSend, wg *sync.WaitGroup, o []counter.Op) {
	enqueue(context.Background(), cb, wg, o, g.send, false)
	for g.callCount() == 0 {
		time.Sleep(time.Millisecond)
	}
}

// enqueue runs a request on its own goroutine.
func enqueue(ctx context.Context, cb *combiner, wg *sync.WaitGroup, o []counter.Op, send sendFunc, patient bool) {
	wg.Add(1)
	go func() { defer wg.Done(); cb.do(ctx, o, send, patient) }()
}

func queued(t *testing.T, cb *combiner, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		cb.mu.Lock()
		q := len(cb.queue)
		cb.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", q, n)
		}
	}
}

func ops(subjects ...int) []counter.Op {
	o := make([]counter.Op, len(subjects))
	for i, s := range subjects {
		o[i] = counter.Op{Kind: counter.OpTake, Key: counter.Key{Rule: "r", Subject: strconv.Itoa(s)}}
	}
	return o
}

func checkAnswered(t *testing.T, o []counter.Op) {
	t.Helper()
	for _, op := range o {
		n, _ := strconv.Atoi(op.Key.Subject)
		if op.Err != nil || !op.Result.Allowed || op.Result.Count != n {
			t.Errorf("op %s answered %+v, %v", op.Key.Subject, op.Result, op.Err)
		}
	}
}

// A request alone sends at once; requests arriving while its round trip
// is under way go together in the next one, in the order they came, and
// each gets its own answers.
func TestCombinerGathersWaitingRequests(t *testing.T) {
	cb := combiner{wait: time.Minute}
	g := &gatedSend{gate: make(chan struct{})}
	first := ops(1, 2)
	var wg sync.WaitGroup
	underWay(&cb, g, &wg, first)
	later := [][]counter.Op{ops(10, 11), ops(20), ops(30, 31, 32)}
	for i, o := range later {
		enqueue(context.Background(), &cb, &wg, o, g.send, false)
		queued(t, &cb, i+1)
	}
	close(g.gate)
	wg.Wait()
	want := [][]string{{"1", "2"}, {"10", "11", "20", "30", "31", "32"}}
	if len(g.calls) != len(want) {
		t.Fatalf("round trips %v, want %v", g.calls, want)
	}
	for i := range want {
		if joinStrings(g.calls[i]) != joinStrings(want[i]) {
			t.Errorf("round trip %d carried %v, want %v", i, g.calls[i], want[i])
		}
	}
	checkAnswered(t, first)
	for _, o := range later {
		checkAnswered(t, o)
	}
	if cb.busy || len(cb.queue) != 0 {
		t.Errorf("combiner left busy=%v with %d queued", cb.busy, len(cb.queue))
	}
	// Idle again: the next request sends alone, at once.
	g2 := &gatedSend{gate: make(chan struct{})}
	close(g2.gate)
	o := ops(7)
	cb.do(context.Background(), o, g2.send, false)
	checkAnswered(t, o)
	if len(g2.calls) != 1 {
		t.Errorf("an idle combiner's request made %d round trips", len(g2.calls))
	}
}

func joinStrings(s []string) string {
	var b []byte
	for _, x := range s {
		b = append(append(b, x...), ',')
	}
	return string(b)
}

// A combined round trip carries at most combinedChunk operations; what
// is left goes in the next one.
func TestCombinerBoundsARoundTrip(t *testing.T) {
	cb := combiner{wait: time.Minute}
	g := &gatedSend{gate: make(chan struct{})}
	var wg sync.WaitGroup
	underWay(&cb, g, &wg, ops(0))
	const requests = 100 // 3 ops each: 300 in all
	all := make([][]counter.Op, requests)
	for i := range all {
		all[i] = ops(3*i+1, 3*i+2, 3*i+3)
		enqueue(context.Background(), &cb, &wg, all[i], g.send, false)
		queued(t, &cb, i+1)
	}
	close(g.gate)
	wg.Wait()
	if len(g.calls) != 3 {
		t.Fatalf("%d round trips, want 3 (1, then 255 and 45 ops)", len(g.calls))
	}
	if n := len(g.calls[1]); n != 255 {
		t.Errorf("second round trip carried %d ops, want 255 (85 whole requests)", n)
	}
	for _, o := range all {
		checkAnswered(t, o)
	}
}

// The request that sends a combined round trip may have a client that
// went away: the round trip still runs for the others.
func TestCombinedRoundTripOutlivesItsSender(t *testing.T) {
	cb := combiner{wait: time.Minute}
	g := &gatedSend{gate: make(chan struct{})}
	var wg sync.WaitGroup
	underWay(&cb, g, &wg, ops(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone, other := ops(2), ops(3)
	enqueue(ctx, &cb, &wg, gone, g.send, false)
	queued(t, &cb, 1)
	enqueue(context.Background(), &cb, &wg, other, g.send, false)
	queued(t, &cb, 2)
	close(g.gate)
	wg.Wait()
	if len(g.ctxs) != 2 || g.ctxs[1].Err() != nil {
		t.Fatalf("the combined round trip ran under a cancelled context (%d round trips)", len(g.ctxs))
	}
	checkAnswered(t, gone)
	checkAnswered(t, other)
}

// A round trip whose sending panics answers the others it carried with
// an error, and the combiner goes on: nobody waits for ever.
func TestCombinedRoundTripPanic(t *testing.T) {
	cb := combiner{wait: time.Minute}
	gate := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cb.do(context.Background(), ops(1), func(context.Context, []counter.Op, int) { close(started); <-gate }, false)
	}()
	<-started
	panicky := func(_ context.Context, o []counter.Op, _ int) {
		if len(o) > 1 {
			panic("boom")
		}
	}
	var recovered any
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { recovered = recover() }()
		cb.do(context.Background(), ops(2), panicky, false)
	}()
	queued(t, &cb, 1)
	other := append(ops(3), counter.Op{}) // a skipped op keeps its zero outputs
	enqueue(context.Background(), &cb, &wg, other, panicky, false)
	queued(t, &cb, 2)
	close(gate)
	wg.Wait()
	if recovered == nil {
		t.Error("the panic did not reach the request that sent the round trip")
	}
	if other[0].Err != errCombinedPanic || other[1].Err != nil {
		t.Errorf("the other request's ops: %+v", other)
	}
	if cb.busy {
		t.Error("combiner still busy after the panic")
	}
}

// A request sent alone whose round trip panics leaves the combiner free.
func TestLoneRoundTripPanic(t *testing.T) {
	cb := combiner{wait: time.Minute}
	func() {
		defer func() { _ = recover() }()
		cb.do(context.Background(), ops(1), func(context.Context, []counter.Op, int) { panic("boom") }, false)
	}()
	if cb.busy {
		t.Fatal("combiner still busy after a lone round trip panicked")
	}
}

// A request still queued when a round trip ends, having waited longer
// than the store's timeout, is answered unavailable rather than sent:
// its wait stays within twice the timeout.
func TestCombinerAnswersLateRequestsUnavailable(t *testing.T) {
	cb := combiner{wait: 20 * time.Millisecond}
	g := &gatedSend{gate: make(chan struct{})}
	var wg sync.WaitGroup
	underWay(&cb, g, &wg, ops(1))
	late := append(ops(2), counter.Op{})
	enqueue(context.Background(), &cb, &wg, late, g.send, false)
	queued(t, &cb, 1)
	time.Sleep(40 * time.Millisecond)
	fresh := ops(3)
	enqueue(context.Background(), &cb, &wg, fresh, g.send, false)
	queued(t, &cb, 2)
	close(g.gate)
	wg.Wait()
	if !errors.Is(late[0].Err, ErrUnavailable) || late[1].Err != nil {
		t.Errorf("a request queued past the timeout was answered %+v", late)
	}
	checkAnswered(t, fresh)
	if len(g.calls) != 2 || joinStrings(g.calls[1]) != "3," {
		t.Errorf("round trips %v: want the late request left out of the second", g.calls)
	}
	if cb.queued != 0 || cb.busy {
		t.Errorf("combiner left %d ops queued, busy=%v", cb.queued, cb.busy)
	}
}

// A request that finds the queue full sends its own round trip at once,
// beside the one under way, instead of the queue growing.
func TestCombinerQueueBounded(t *testing.T) {
	cb := combiner{wait: time.Minute}
	g := &gatedSend{gate: make(chan struct{})}
	var wg sync.WaitGroup
	underWay(&cb, g, &wg, ops(0))
	const each = 64
	for i := range maxCombinedQueue / each {
		o := make([]counter.Op, each)
		for j := range o {
			o[j] = counter.Op{Kind: counter.OpTake, Key: counter.Key{Subject: strconv.Itoa(1000 + i)}}
		}
		enqueue(context.Background(), &cb, &wg, o, g.send, false)
		queued(t, &cb, i+1)
	}
	over := ops(5)
	enqueue(context.Background(), &cb, &wg, over, g.send, false)
	for deadline := time.Now().Add(5 * time.Second); g.callCount() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a request finding the queue full did not send its own round trip")
		}
	}
	close(g.gate)
	wg.Wait()
	checkAnswered(t, over)
	// 1 + the one over the bound + 1024 queued ops, 256 a round trip.
	if len(g.calls) != 6 {
		t.Errorf("%d round trips, want 6", len(g.calls))
	}
}

// batchReturns runs a one-op Batch and fails the test if it queues.
func batchReturns(t *testing.T, c *Conn) error {
	t.Helper()
	o := ops(1)
	done := make(chan struct{})
	go func() { NewCounter(c).Batch(context.Background(), o); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Batch queued behind a round trip under way")
	}
	return o[0].Err
}

// In Cluster mode, and while the breaker is open, requests do not queue
// behind a round trip under way: a slow master must not hold up logins on
// the others, and a refusal must come at once.
func TestCombinerBypassed(t *testing.T) {
	cl, err := New(Config{Mode: ModeCluster, Addresses: []string{"127.0.0.1:1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.combine.busy = true // a round trip under way, for ever
	if err := batchReturns(t, cl); !errors.Is(err, ErrNotReady) {
		t.Errorf("cluster: %v", err)
	}

	c := boundNowhere(t)
	for range breakerThreshold {
		c.br.record(false, true)
	}
	c.combine.busy = true
	if err := batchReturns(t, c); !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("breaker open: %v", err)
	}
}

// boundNowhere is a Conn opened and bound to key material, its Redis
// an address where nothing listens.
func boundNowhere(t *testing.T) *Conn {
	t.Helper()
	c, err := New(Config{Addresses: []string{"127.0.0.1:1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	k, err := newKeyer("p:", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	c.keys.Store(k)
	return c
}

// A failed round trip that carried several requests counts once for each
// towards opening the breaker, as their own round trips would have.
func TestCombinedFailureCountsForEachRequest(t *testing.T) {
	c := boundNowhere(t)
	down := func(context.Context, redis.UniversalClient, *keyer) error { return errors.New("connection refused") }
	_ = c.callFor(context.Background(), breakerThreshold-1, down)
	if c.br.isOpen() {
		t.Fatal("breaker open after fewer failed requests than its threshold")
	}
	_ = c.callFor(context.Background(), 1, down)
	if !c.br.isOpen() {
		t.Fatal("breaker still closed after a round trip of two requests and one of one failed")
	}
}

// Settlements queued behind slow round trips are sent however long they
// wait (a failed guess answered "waited too long" would go uncounted),
// while requests that waited too long around them are answered
// unavailable, even behind a settlement.
func TestCombinerSendsPatientSettlements(t *testing.T) {
	cb := combiner{wait: 20 * time.Millisecond}
	g := &gatedSend{gate: make(chan struct{})}
	var wg sync.WaitGroup
	underWay(&cb, g, &wg, ops(1))
	settlements, late := ops(2, 3), ops(4)
	enqueue(context.Background(), &cb, &wg, settlements, g.send, true)
	queued(t, &cb, 1)
	enqueue(context.Background(), &cb, &wg, late, g.send, false)
	queued(t, &cb, 2)
	time.Sleep(40 * time.Millisecond)
	close(g.gate)
	wg.Wait()
	checkAnswered(t, settlements)
	if !errors.Is(late[0].Err, ErrUnavailable) {
		t.Errorf("a request that waited too long behind a settlement was answered %+v", late[0])
	}
	if len(g.calls) != 2 || joinStrings(g.calls[1]) != "2,3," {
		t.Errorf("round trips %v: want the settlements alone in the second", g.calls)
	}
	if cb.queued != 0 || cb.busy {
		t.Errorf("combiner left %d ops queued, busy=%v", cb.queued, cb.busy)
	}
}

// The settler's sends are patient: queued behind a round trip that
// outlasts the timeout, they are still sent (here to a store not yet
// open, so they fail as not ready rather than for waiting too long).
func TestSettlerSendsPatiently(t *testing.T) {
	c, err := New(Config{Addresses: []string{"127.0.0.1:1"}, Timeout: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.combine.busy = true // a round trip under way
	heard := make(chan counter.Op, 1)
	op := []counter.Op{{Kind: counter.OpSettle, Key: counter.Key{Rule: "r", Subject: "u"}}}
	if !c.settle.add(c, op, settledFunc(func(ops []counter.Op) { heard <- ops[0] })) {
		t.Fatal("refused")
	}
	queued(t, &c.combine, 1)
	time.Sleep(30 * time.Millisecond)
	c.combine.handOn() // the round trip under way ends, long after the timeout
	got := <-heard
	if !errors.Is(got.Err, ErrNotReady) {
		t.Fatalf("a settlement queued past the timeout was answered %v, want it sent", got.Err)
	}
}
