package redisstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Modes of a Config.
const (
	ModeSingle   = "single"
	ModeSentinel = "sentinel"
	ModeCluster  = "cluster"
)

// Defaults of a Config.
const (
	DefaultPrefix  = "login_guard:"
	DefaultTimeout = 250 * time.Millisecond
	// MaxTimeout bounds the per-call deadline: a guarded login's counting
	// waits on the store for at most twice the timeout (see combiner), and
	// its revocation check, with a session cookie, once more.
	MaxTimeout = 10 * time.Second
	maxPrefix  = 64
)

// Config says how to reach Redis.
type Config struct {
	// Mode is single (default), sentinel or cluster.
	Mode string
	// Addresses are host:port pairs: the server (single), the sentinels
	// (sentinel), or some cluster nodes (cluster; the rest are found).
	Addresses []string
	// MasterName is the Sentinel master's name (sentinel mode only).
	MasterName string
	// Username and Password authenticate to Redis (ACL user or the
	// default user's requirepass).
	Username string
	Password string
	// SentinelPassword authenticates to the sentinels, when they need it.
	SentinelPassword string
	// DB is the database number (not in cluster mode).
	DB int
	// TLS, when set, makes every connection use TLS.
	TLS *TLS
	// Prefix starts every key (default DefaultPrefix), so several
	// deployments can share one Redis.
	Prefix string
	// Timeout bounds each call, socket included (default DefaultTimeout).
	Timeout time.Duration
	// PoolSize bounds connections per node (default: go-redis's, ten per
	// CPU).
	PoolSize int
}

// TLS configures TLS to Redis.
type TLS struct {
	// ServerName overrides the name checked in the server's certificate.
	ServerName string
	// CAFile is a PEM file of roots to trust instead of the system's.
	CAFile string
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	switch c.Mode {
	case "":
		c.Mode = ModeSingle
	case ModeSingle, ModeSentinel, ModeCluster:
	default:
		return fmt.Errorf("mode must be single, sentinel or cluster, not %q", c.Mode)
	}
	if len(c.Addresses) == 0 {
		return errors.New("at least one address is required")
	}
	for _, a := range c.Addresses {
		// A URL or user info may carry a password: refused without
		// quoting it (password and username are options of their own).
		if strings.ContainsAny(a, "@/") {
			return errors.New("an address is host:port, without a scheme or credentials (give username and password as options)")
		}
		if i := strings.LastIndexByte(a, ':'); i <= 0 || i == len(a)-1 {
			return fmt.Errorf("address %q is not host:port", a)
		}
	}
	if c.Mode == ModeSingle && len(c.Addresses) != 1 {
		return errors.New("single mode takes exactly one address")
	}
	if c.Mode == ModeSentinel && c.MasterName == "" {
		return errors.New("sentinel mode needs master_name")
	}
	if c.Mode != ModeSentinel && (c.MasterName != "" || c.SentinelPassword != "") {
		return errors.New("master_name and sentinel_password are for sentinel mode")
	}
	if c.Mode == ModeCluster && c.DB != 0 {
		return errors.New("db is not available in cluster mode (a Redis Cluster has only database 0)")
	}
	if c.DB < 0 || c.DB > 15 {
		return fmt.Errorf("db must be from 0 to 15, not %d", c.DB)
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if len(c.Prefix) > maxPrefix {
		return fmt.Errorf("prefix is longer than %d bytes", maxPrefix)
	}
	for _, r := range c.Prefix {
		// Braces would change the Cluster hash tag; glob characters
		// would break the admin scan's pattern.
		if r <= ' ' || r > '~' || strings.ContainsRune("{}*?[]\\", r) {
			return fmt.Errorf("prefix %q may hold only printable ASCII without spaces, braces or glob characters", c.Prefix)
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		return fmt.Errorf("timeout must be positive and at most %s", MaxTimeout)
	}
	if c.PoolSize < 0 || c.PoolSize > 10000 {
		return fmt.Errorf("pool_size must be from 1 to 10000")
	}
	return nil
}
