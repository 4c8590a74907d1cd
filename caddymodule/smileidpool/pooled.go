package smileidpool

import (
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/internal/metrics"
	"github.com/login-guard/login_guard/internal/newest"
	"github.com/login-guard/login_guard/internal/redisstore"
)

// Pooled is a Smile ID client shared by the configs that agree on it: its
// registry of pending jobs and its submission counters must survive a
// reload, or a callback arriving after it would find nothing.
type Pooled struct {
	Client *smileid.Client
	logger atomic.Pointer[zap.Logger]
	// loggers are the holding configs': the newest one's logs.
	loggers newest.Values[*zap.Logger]
	// metrics are the process's collectors (the same for every config),
	// as the config that last took the client gave them; nil: none.
	metrics atomic.Pointer[metrics.Collectors]

	// confirms spaces the page poll's own job-status calls (the fallback
	// for callbacks that cannot reach the guard).
	confirms smileid.Confirms

	// shares keeps each client to its share of submissions and pending
	// jobs; ttl is how long a job may stay pending.
	shares smileid.Shares
	ttl    time.Duration
}

// NewPooled makes the pooled client for c; shared (the app's Redis
// store; nil: memory) holds its pending jobs and its paid-job counters.
func (c *Config) NewPooled(shared *redisstore.Conn) (*Pooled, error) {
	p := &Pooled{ttl: time.Duration(c.PendingTTL)}
	if p.ttl <= 0 {
		p.ttl = smileid.DefaultPendingTTL
	}
	userLimit := smileid.Rate{N: c.UserLimit, Window: time.Duration(c.UserLimitEvery)}
	ipLimit := smileid.Rate{N: c.IPLimit, Window: time.Duration(c.IPLimitEvery)}
	var lim smileid.Limiter = smileid.NewMemoryLimiter(userLimit, ipLimit, c.LimitKeys, nil)
	var pending smileid.Pending
	if shared != nil {
		// Shared: a job submitted through one instance is confirmed
		// and completed through any, and the paid-job limits count
		// every instance's submissions.
		lim = &smileid.CounterLimiter{Store: redisstore.NewCounter(shared), User: userLimit, IP: ipLimit}
		pending = redisstore.NewSmileIDJobs(shared, p.ttl)
	}
	cl, err := c.newClient(lim, p, pending)
	if err != nil {
		return nil, err
	}
	p.Client = cl
	return p, nil
}

// Hold records owner's (a config's) logger, the newest config still
// holding the client getting its logs, and the collectors its calls to
// Smile ID are counted in (nil: not counted).
func (p *Pooled) Hold(owner any, l *zap.Logger, m *metrics.Collectors) {
	if m != nil {
		p.metrics.Store(m)
	}
	p.loggers.Hold(owner, l, p.logger.Store)
}

// LetLogger drops owner's logger, handing the logs back to the newest
// config still holding the client.
func (p *Pooled) LetLogger(owner any) { p.loggers.Let(owner, p.logger.Store) }

// pendingTTL is how long a submitted job may wait for its result.
func (p *Pooled) pendingTTL() time.Duration { return p.ttl }

// DueForConfirm reports whether the poll should ask Smile ID about a
// pending job now, and records that it will.
func (p *Pooled) DueForConfirm(job string, registered, now time.Time) bool {
	return p.confirms.Due(job, registered, now)
}

// ForgetConfirm drops a finished job's entry.
func (p *Pooled) ForgetConfirm(job string) { p.confirms.Forget(job) }

func (p *Pooled) Destruct() error { return nil }

// Observe counts each call to Smile ID by call and outcome and logs each
// exchange (never a key, an image or a URL: Report carries none): a
// failed one as a warning, but for a callback refused before its
// signature verified, which anyone can send (smileid.Unauthenticated).
func (p *Pooled) Observe(r smileid.Report) {
	if r.Op != smileid.OpCallback {
		p.metrics.Load().SmileIDCall(string(r.Op), r.Outcome, r.Duration)
	}
	l := p.logger.Load()
	if l == nil {
		return
	}
	fields := []zap.Field{zap.String("op", string(r.Op)), zap.Int("status", r.Status), zap.Duration("duration", r.Duration), zap.String("state", string(r.State))}
	if r.Err != nil {
		if r.Op == smileid.OpCallback && smileid.Unauthenticated(r.Err) {
			// Anyone can post to the callback URL: the refusal is in
			// the request's audit line, and a warning per forged
			// request would let anyone bury Smile ID's real failures.
			l.Debug("smileid callback refused", append(fields, zap.Error(r.Err))...)
			return
		}
		l.Warn("smileid exchange failed", append(fields, zap.Error(r.Err))...)
		return
	}
	l.Debug("smileid exchange", fields...)
}

// BeginSubmit admits a client's selfie submission within its shares
// (submissions in flight and jobs pending); it returns which share is
// full, or "" when admitted. An admitted call is paired with EndSubmit.
func (p *Pooled) BeginSubmit(client string, maxInflight, maxPending int, now time.Time) (full string) {
	return p.shares.Begin(client, maxInflight, maxPending, p.pendingTTL(), now)
}

// EndSubmit ends a submission BeginSubmit admitted; job is the job it
// created ("" when none), which then counts as pending.
func (p *Pooled) EndSubmit(client, job string, now time.Time) { p.shares.End(client, job, now) }

// JobDone ends a pending job's hold on its client's share.
func (p *Pooled) JobDone(job string) { p.shares.Done(job) }
