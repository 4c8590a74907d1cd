package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/newest"
	"github.com/login-guard/login_guard/internal/repeatlog"
)

// SmartIDConfig configures SmartID analytics events.
type SmartIDConfig struct {
	// Endpoint is SmartID's base URL, e.g. https://smartid.example.com.
	Endpoint string `json:"endpoint"`
	// License is the Bearer token. Give it as {env.SMARTID_LICENSE}, which
	// is resolved when the config loads; a {$SMARTID_LICENSE} is
	// substituted when the Caddyfile is read and would land in plain text
	// in the adapted JSON and in autosave.json.
	License string `json:"license"`
	// Channel is the default channel id (routes may override it).
	Channel string `json:"channel"`
	// Environment is production (/api/v5) or dev (/api-dev/v5).
	Environment string `json:"environment,omitempty"`
	// Timeout bounds one HTTP call: default 5s, at most 1m.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// QueueSize bounds waiting events; beyond it events are dropped and
	// counted. Default 1024.
	QueueSize int `json:"queue_size,omitempty"`
	// Workers send events in parallel. Default 4.
	Workers int `json:"workers,omitempty"`
	// Retries is how many times a failed send (network error, 5xx, 429)
	// is retried with backoff: 0 to 10, default 3 (unset). 0 means one
	// attempt only.
	Retries *int `json:"retries,omitempty"`
	// Drain bounds how long the queue may take to send what is left when
	// the last config using it goes away (and how long a stopping config
	// waits for its in-flight requests first): 0 to 10m, default 10s
	// (unset). 0 drops, counted and logged, whatever is still queued.
	Drain *caddy.Duration `json:"drain,omitempty"`
	// Linger is how long a worker that has just sent waits for the next
	// events under steady load, to send them in one write: 0s to 100ms,
	// default 20ms (unset). 0 sends every event at once.
	Linger *caddy.Duration `json:"linger,omitempty"`

	endpoint, license, environment string
	channelID                      int
	retries                        int
	drain, linger                  time.Duration
}

// Bounds of the SmartID options whose zero means zero.
const (
	maxSmartIDRetries = 10
	maxSmartIDDrain   = 10 * time.Minute
)

func (c *SmartIDConfig) provision() error {
	res := caddyopt.NewResolver()
	c.endpoint = res.Value("smartid endpoint", c.Endpoint)
	// The license keeps its own message (an unset variable is the usual
	// cause), which the docs quote.
	c.license = caddy.NewReplacer().ReplaceKnown(c.License, "")
	c.environment = res.Value("smartid environment", c.Environment)
	channel := res.Value("smartid channel", c.Channel)
	if res.Err != nil {
		return res.Err
	}
	if c.environment == "" {
		c.environment = "production"
	}
	if c.environment != "production" && c.environment != "dev" {
		return fmt.Errorf("environment must be production or dev, not %q", c.environment)
	}
	// The client's own rule, which quotes the URL only once it is known
	// to hold no credentials.
	if err := smartid.CheckEndpoint(c.endpoint); err != nil {
		return err
	}
	if c.license == "" {
		return fmt.Errorf("license is required (it is empty; is the environment variable set?)")
	}
	var err error
	if c.channelID, err = ParseChannel(channel); err != nil {
		return err
	}
	if c.Timeout == 0 {
		c.Timeout = caddy.Duration(5 * time.Second)
	}
	if c.QueueSize == 0 {
		c.QueueSize = 1024
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	c.retries, c.drain, c.linger = 3, 10*time.Second, smartid.DefaultLinger
	if c.Retries != nil {
		c.retries = *c.Retries
	}
	if c.Drain != nil {
		c.drain = time.Duration(*c.Drain)
	}
	if c.Linger != nil {
		c.linger = time.Duration(*c.Linger)
	}
	if c.QueueSize < 1 || c.Workers < 1 || c.Timeout < 0 {
		return fmt.Errorf("queue_size and workers must be positive, timeout not negative")
	}
	if c.retries < 0 || c.retries > maxSmartIDRetries {
		return fmt.Errorf("retries must be from 0 to %d, not %d", maxSmartIDRetries, c.retries)
	}
	if c.drain < 0 || c.drain > maxSmartIDDrain {
		return fmt.Errorf("drain must be from 0 to %v, not %v", maxSmartIDDrain, c.drain)
	}
	if c.linger < 0 || c.linger > smartid.MaxLinger {
		return fmt.Errorf("linger must be from 0 to %v, not %v", smartid.MaxLinger, c.linger)
	}
	// The client's own bounds (queue_size, workers, the license's
	// characters), checked now rather than when the queue starts.
	return c.clientConfig(nil).Validate()
}

// clientConfig is the provisioned config as the client takes it. Its
// linger: there a zero means the default and a negative value none.
func (c *SmartIDConfig) clientConfig(obs smartid.Observer) smartid.Config {
	linger := c.linger
	if linger == 0 {
		linger = -1
	}
	return smartid.Config{Endpoint: c.endpoint, License: c.license, Environment: smartid.Environment(c.environment),
		ChannelID: c.channelID, Timeout: time.Duration(c.Timeout), QueueSize: c.QueueSize, Workers: c.Workers,
		MaxAttempts: c.retries + 1, Linger: linger, Observer: obs}
}

// poolKey identifies the queue: configs that agree on everything that
// shapes delivery share one queue across reloads. The license is hashed in
// so a changed license gets a new client, but never appears itself.
func (c *SmartIDConfig) poolKey() string {
	b, _ := json.Marshal([]any{c.endpoint, c.environment, c.Timeout, c.QueueSize, c.Workers, c.retries, c.drain, c.linger})
	sum := sha256.Sum256(append(b, c.license...))
	return "login_guard.smartid." + hex.EncodeToString(sum[:12])
}

func (c *SmartIDConfig) unmarshal(d *caddyfile.Dispenser) error {
	if err := caddyopt.EachOption(d, "smartid", nil, func(key string) error {
		var err error
		switch key {
		case "endpoint":
			err = caddyopt.CheckedArg(d, &c.Endpoint, smartid.CheckEndpoint)
		case "license":
			if d.CountRemainingArgs() == 0 {
				return d.Err("smartid: license has no value (if it comes from {$VAR}, that environment variable is not set)")
			}
			err = caddyopt.CheckedArg(d, &c.License, smartid.CheckLicense)
		case "channel":
			if err = caddyopt.OneArg(d, &c.Channel); err == nil && !isPlaceholder(c.Channel) {
				if _, perr := ParseChannel(c.Channel); perr != nil {
					err = d.Errf("smartid: %v", perr)
				}
			}
		case "environment":
			if err = caddyopt.OneArg(d, &c.Environment); err == nil && !isPlaceholder(c.Environment) {
				err = caddyopt.OneOf(d, c.Environment, "production", "dev")
			}
		case "timeout":
			err = caddyopt.DurationArg(d, &c.Timeout, smartid.MaxTimeout)
		case "drain":
			c.Drain = new(caddy.Duration)
			err = caddyopt.BoundedDurationArg(d, c.Drain, 0, maxSmartIDDrain)
		case "linger":
			c.Linger = new(caddy.Duration)
			err = caddyopt.BoundedDurationArg(d, c.Linger, 0, smartid.MaxLinger)
		case "queue_size":
			c.QueueSize, err = caddyopt.IntArg(d, 1, smartid.MaxQueueSize)
		case "workers":
			c.Workers, err = caddyopt.IntArg(d, 1, smartid.MaxWorkers)
		case "retries":
			var n int
			n, err = caddyopt.IntArg(d, 0, maxSmartIDRetries)
			c.Retries = &n
		default:
			return d.Errf("smartid: unknown option %q", key)
		}
		return err
	}); err != nil {
		return err
	}
	for _, req := range [][2]string{{"endpoint", c.Endpoint}, {"license", c.License}, {"channel", c.Channel}} {
		if req[1] == "" {
			return d.Errf("smartid: %s is required", req[0])
		}
	}
	return nil
}

func isPlaceholder(s string) bool { return len(s) > 1 && s[0] == '{' }

// smartidPool keeps one SmartID client per distinct config across reloads:
// a reload that keeps the smartid block reuses the running queue, and the
// queue drains only when the last config using it is stopped.
var smartidPool = caddy.NewUsagePool()

// SmartIDQueue is the pooled value. It holds its own reference to the
// process's collectors: it may outlive the config that made it.
type SmartIDQueue struct {
	Client *smartid.Client
	obs    *smartidObserver
	// loggers are the holding configs': the newest one's logs.
	loggers newest.Values[*zap.Logger]
	drain   time.Duration
	// Label is the queue's metric label.
	Label   string
	Metrics *Metrics
}

// Destruct drains the queue within the configured deadline.
func (q *SmartIDQueue) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), q.drain)
	defer cancel()
	err := q.Client.Close(ctx)
	q.obs.flush()
	q.Metrics.ForgetQueue(q.Label)
	releaseMetrics()
	return err
}

func acquireSmartID(key string, cfg *SmartIDConfig, logger *zap.Logger, owner any) (*SmartIDQueue, error) {
	v, _, err := smartidPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		m, err := acquireMetrics(nil)
		if err != nil {
			return nil, err
		}
		obs := &smartidObserver{m: m, queue: queueLabel(key), lines: repeatlog.New(smartidLogEvery), now: time.Now}
		obs.logger.Store(logger.Named("smartid"))
		c, err := smartid.New(cfg.clientConfig(obs))
		if err != nil {
			releaseMetrics()
			return nil, err
		}
		// Set before any event can be queued, so workers see it.
		obs.client = c
		return &SmartIDQueue{Client: c, obs: obs, drain: cfg.drain, Label: obs.queue, Metrics: m}, nil
	})
	if err != nil {
		return nil, err
	}
	q := v.(*SmartIDQueue)
	q.loggers.Hold(owner, logger.Named("smartid"), q.obs.logger.Store)
	return q, nil
}

// releaseSmartID lets go of q for owner: the newest config still holding
// it logs from now on, and the last to let go drains it.
func releaseSmartID(key string, q *SmartIDQueue, owner any) error {
	q.loggers.Let(owner, q.obs.logger.Store)
	_, err := smartidPool.Delete(key)
	return err
}

// queueLabel is a short, config-derived id for the queue's metrics: one
// value per distinct smartid block, never a license.
func queueLabel(poolKey string) string {
	if len(poolKey) > 8 {
		return poolKey[len(poolKey)-8:]
	}
	return poolKey
}

// ParseChannel reads a SmartID channel id: a positive integer, written
// as digits only ("+1" is refused, as every whole number of the config).
func ParseChannel(s string) (int, error) {
	n, ok := caddyopt.WholeNumber(s, 1, math.MaxInt)
	if !ok {
		return 0, fmt.Errorf("channel must be a positive integer, not %q", s)
	}
	return n, nil
}

// SmartIDQueue is the config's SmartID queue; nil without a smartid block
// or before Start.
func (a *App) SmartIDQueue() *SmartIDQueue { return a.smartid }
