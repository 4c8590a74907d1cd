package smartid

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/login-guard/login_guard/internal/noredirect"
)

// job is a queued event: already validated and encoded, so a worker only
// sends bytes and the caller may reuse its event at once.
type job struct {
	kind    EventKind
	channel ChannelKind
	body    *[]byte // from bodyPool; given back once the event is done
}

// bodyPool recycles encoded bodies: an event's body lives from Enqueue to
// the end of its delivery, and the next event can reuse it.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody keeps an unusually large body from staying in the pool.
const maxPooledBody = 16 << 10

// releaseBody gives b back to the pool; nil (a body net/http had) is
// left to the garbage collector.
func releaseBody(b *[]byte) {
	if b != nil && cap(*b) <= maxPooledBody {
		*b = (*b)[:0]
		bodyPool.Put(b)
	}
}

// Client delivers analytics events to one SmartID endpoint with one
// license. It is safe for concurrent use. Keep one per distinct Config for
// as long as any route uses it, and Close it when the last one goes.
type Client struct {
	cfg    Config
	bearer string                    // "Bearer <license>", built once
	urls   map[ChannelKind][3]string // per channel kind: login, logout, operation
	// wire is the lean sender's target, nil when net/http must be used
	// (see newWireTarget); http2Only is set when the server refused
	// HTTP/1.1, and sends everything through http from then on.
	wire       *wireTarget
	http2Only  atomic.Bool
	noPipeline atomic.Bool // a server dropped a pipeline: one request per write
	http       *http.Client
	ownsHTTP   bool // the default client: Close releases its idle connections
	observer   Observer

	// mu orders Enqueue's send against Close: once closed is set under
	// the write lock, no send can reach the queue any more.
	mu     sync.RWMutex
	closed bool

	queue chan job
	// turn, with a linger window, is the leader's token (see worker):
	// leaderBusy holds the id of the leader while it sends (0 otherwise),
	// batchReady cuts its linger short once a full batch is queued, and
	// linger is the leader's alone.
	turn       chan struct{}
	batchReady chan struct{}
	leaderBusy atomic.Uint64
	linger     lingerState
	// answerDelay is how long a pipelined batch's answers may wait to be
	// read (see dueAnswers): the linger window, at most maxAnswerDelay.
	answerDelay time.Duration
	stopping    chan struct{} // closed by Close: workers drain, then exit
	runCtx      context.Context
	abandon     context.CancelFunc // ends in-flight work when Close's deadline passes
	live        atomic.Int32       // running workers
	workersDone chan struct{}      // closed by the last worker to exit
	closeOnce   sync.Once

	sent, retries, dropped, failed atomic.Uint64
	shutdownDrops                  atomic.Uint64 // part of dropped, for Close's error
	writes                         atomic.Uint64 // the lean sender's writes, for the benchmarks
}

// Stats is a snapshot of the client's counters, for metrics.
type Stats struct {
	QueueDepth    int    // events waiting for a worker
	QueueCapacity int    // Config.QueueSize
	Sent          uint64 // events SmartID accepted (2xx)
	Retries       uint64 // attempts repeated after a retryable failure
	Dropped       uint64 // events never attempted to the end: queue full or shutdown
	Failed        uint64 // events given up on: non-retryable status or attempts exhausted
}

// New validates cfg, applies defaults and starts the workers.
func New(cfg Config) (*Client, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	c.start()
	return c, nil
}

// newClient builds the client without starting its workers.
func newClient(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:         cfg,
		bearer:      "Bearer " + cfg.License,
		urls:        buildURLs(base, cfg.Environment),
		http:        cfg.HTTPClient,
		observer:    cfg.Observer,
		queue:       make(chan job, cfg.QueueSize),
		stopping:    make(chan struct{}),
		workersDone: make(chan struct{}),
	}
	if c.http == nil {
		c.http = defaultHTTPClient(cfg.Workers, cfg.TLSConfig)
		c.ownsHTTP = true
	} else {
		// A copy that follows no redirect either: net/http's own policy
		// would replay the license to another port or scheme of the host.
		c.http = noredirect.Client(c.http)
	}
	c.wire = newWireTarget(cfg, base, c.urls, c.bearer, http.ProxyFromEnvironment)
	if c.observer == nil {
		c.observer = discardObserver{}
	}
	if c.wire != nil && cfg.Linger > 0 {
		c.turn = make(chan struct{}, 1)
		c.turn <- struct{}{}
		c.batchReady = make(chan struct{}, 1)
		c.answerDelay = min(cfg.Linger, maxAnswerDelay)
	}
	c.runCtx, c.abandon = context.WithCancel(context.Background())
	return c, nil
}

func (c *Client) start() {
	c.live.Store(int32(c.cfg.Workers))
	for i := range c.cfg.Workers {
		go c.worker(uint64(i) + 1)
	}
}

// buildURLs precomputes the six endpoint URLs, keeping any path prefix of
// the configured endpoint.
func buildURLs(base *url.URL, env Environment) map[ChannelKind][3]string {
	m := make(map[ChannelKind][3]string, 2)
	for _, ch := range []ChannelKind{ChannelWeb, ChannelApp} {
		var u [3]string
		for i, ev := range []EventKind{KindLogin, KindLogout, KindOperation} {
			u[i] = base.JoinPath(env.pathPrefix(), "analytics", string(ch), string(ev)).String()
		}
		m[ch] = u
	}
	return m
}

func (c *Client) url(ch ChannelKind, kind EventKind) string {
	u := c.urls[ch]
	switch kind {
	case KindLogin:
		return u[0]
	case KindLogout:
		return u[1]
	default:
		return u[2]
	}
}

// defaultHTTPClient is the sender when the lean one cannot be used. It
// keeps one idle connection per worker alive so steady traffic reuses
// connections, and refuses redirects so the bearer token is never sent
// anywhere but the configured endpoint.
func defaultHTTPClient(workers int, tlsConfig *tls.Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = workers
	t.MaxIdleConns = max(t.MaxIdleConns, workers)
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	return &http.Client{Transport: t, CheckRedirect: noredirect.Check}
}

// Enqueue validates and encodes ev and queues it for delivery. It never
// blocks on the network or on a full queue: a full queue drops the event
// (counted, reported, ErrQueueFull). A *FieldError means nothing was
// queued because a required field is missing or invalid.
func (c *Client) Enqueue(ev Event) error {
	if ev == nil {
		return errNilEvent
	}
	ch, id := ev.channel()
	if ch == "" {
		ch = c.cfg.ChannelKind
	} else if !ch.valid() {
		return &FieldError{Event: ev.Kind(), Field: "channel kind", Reason: "must be web or app"}
	}
	if id == 0 {
		id = c.cfg.ChannelID
	}
	if id <= 0 {
		return &FieldError{Event: ev.Kind(), Field: "channelId", Reason: "must be positive"}
	}
	// The strings alone already exceed the cap: refuse before spending
	// time encoding them.
	if ev.minSize() > c.cfg.MaxEventBytes {
		return ErrEventTooLarge
	}
	buf := bodyPool.Get().(*[]byte)
	body, err := ev.appendJSON((*buf)[:0], id)
	*buf = body
	if err == nil && len(body) > c.cfg.MaxEventBytes {
		err = ErrEventTooLarge
	}
	if err != nil {
		releaseBody(buf)
		return err
	}
	j := job{kind: ev.Kind(), channel: ch, body: buf}

	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		releaseBody(buf)
		return ErrClosed
	}
	select {
	case c.queue <- j:
		c.mu.RUnlock()
		c.queued()
		return nil
	default:
		c.mu.RUnlock()
		// Reported outside the lock: the Observer is the caller's code.
		c.drop(j, ReasonQueueFull)
		return ErrQueueFull
	}
}

// Stats returns the current counters.
func (c *Client) Stats() Stats {
	return Stats{
		QueueDepth:    len(c.queue),
		QueueCapacity: cap(c.queue),
		Sent:          c.sent.Load(),
		Retries:       c.retries.Load(),
		Dropped:       c.dropped.Load(),
		Failed:        c.failed.Load(),
	}
}

// Close stops accepting events and lets the workers deliver what is
// queued until ctx ends. Then in-flight attempts are cancelled and every
// undelivered event is dropped with reason "shutdown". Close returns once
// all workers have exited; the error tells how many events were abandoned.
// Later calls wait for the first to finish and return nil. Close must not
// be called from the Observer (a worker would wait for itself).
func (c *Client) Close(ctx context.Context) error {
	first := false
	c.closeOnce.Do(func() { first = true })
	if !first {
		<-c.workersDone
		return nil
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.stopping)

	select {
	case <-c.workersDone:
	case <-ctx.Done():
		c.abandon()
		<-c.workersDone
	}
	c.abandon()

	c.dropQueued()
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	if n := c.shutdownDrops.Load(); n > 0 {
		return errAbandoned(n, ctx.Err())
	}
	return nil
}

// dropQueued drops what the workers left behind. They exit with the queue
// empty unless Close's deadline passed, so this is a safety net: every
// event ends counted as sent, failed or dropped.
func (c *Client) dropQueued() {
	for {
		select {
		case j := <-c.queue:
			c.drop(j, ReasonShutdown)
		default:
			return
		}
	}
}

func (c *Client) drop(j job, reason string) {
	c.dropped.Add(1)
	if reason == ReasonShutdown {
		c.shutdownDrops.Add(1)
	}
	c.observer.Observe(Report{Outcome: OutcomeDropped, Event: j.kind, Channel: j.channel, Reason: reason})
	releaseBody(j.body)
}

// errAbandoned is for Close's return value.
func errAbandoned(n uint64, cause error) error {
	return fmt.Errorf("smartid: close: deadline passed, events abandoned: %d: %w", n, cause)
}
