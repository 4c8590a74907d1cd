package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/redisstore"
)

// StoreConfig chooses where the guard's shared state lives. Without it,
// every instance keeps its own state in memory.
type StoreConfig struct {
	// Redis keeps the rules' counters and the LoginID replay cache in
	// Redis, shared by every instance using the same Redis and prefix.
	Redis *RedisStoreConfig `json:"redis,omitempty"`
}

// RedisStoreConfig is the `store redis { ... }` block. Strings accept
// placeholders such as {env.REDIS_PASSWORD}.
type RedisStoreConfig struct {
	// Mode is single (default), sentinel or cluster.
	Mode string `json:"mode,omitempty"`
	// Addresses: the server, the sentinels, or some cluster nodes.
	Addresses []string `json:"addresses,omitempty"`
	// MasterName is the Sentinel master name (sentinel mode).
	MasterName       string `json:"master_name,omitempty"`
	Username         string `json:"username,omitempty"`
	Password         string `json:"password,omitempty"`
	SentinelPassword string `json:"sentinel_password,omitempty"`
	// DB is the database number; not in cluster mode.
	DB int `json:"db,omitempty"`
	// TLS, when present, makes connections use TLS.
	TLS *RedisTLSConfig `json:"tls,omitempty"`
	// Prefix starts every key (default "login_guard:").
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds each call to Redis (default 250ms).
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// PoolSize bounds connections per Redis node.
	PoolSize int `json:"pool_size,omitempty"`
}

// RedisTLSConfig configures TLS to Redis.
type RedisTLSConfig struct {
	ServerName string `json:"server_name,omitempty"`
	CAFile     string `json:"ca_file,omitempty"`
}

// resolved is the config with placeholders replaced, checked. A refusal
// names the placeholders it resolved (never a credential's), since the
// value that failed is not the one the Caddyfile shows.
func (c *RedisStoreConfig) resolved() (redisstore.Config, error) {
	res := caddyopt.NewResolver()
	var seen []string
	out, err := c.resolvedBy(func(s string) string {
		v := res.Value("store redis", s)
		switch {
		case v == s:
		case strings.ContainsAny(v, "@/"): // a URL may hold a password
			seen = append(seen, s+" is a URL, not shown")
		default:
			seen = append(seen, fmt.Sprintf("%s is %q", s, v))
		}
		return v
	}, func(secret string) string { return res.Value("store redis", secret) })
	if res.Err != nil {
		return out, res.Err // an unset variable, named
	}
	if err != nil && len(seen) > 0 {
		err = fmt.Errorf("%w (where %s)", err, strings.Join(seen, ", "))
	}
	return out, err
}

// checkedAsWritten checks the block as the Caddyfile writes it, for
// `caddy adapt`: a value holding a placeholder ({env.REDIS_ADDR}, say) is
// known only when the config loads, on the machine that runs it, so here
// it stands in as a well-formed value and is checked then (resolved).
// A brace that is no placeholder ("a{b}") stays as written, and is checked.
func (c *RedisStoreConfig) checkedAsWritten() error {
	repl := caddy.NewReplacer()
	asWritten := func(s string) string {
		if repl.ReplaceKnown(s, "") != s {
			return "placeholder:6379"
		}
		return s
	}
	_, err := c.resolvedBy(asWritten, asWritten)
	return err
}

// resolvedBy is the config with each string value passed through r, the
// credentials through secret, checked.
func (c *RedisStoreConfig) resolvedBy(r, secret func(string) string) (redisstore.Config, error) {
	out := redisstore.Config{
		Mode: c.Mode, MasterName: r(c.MasterName), Username: secret(c.Username), Password: secret(c.Password),
		SentinelPassword: secret(c.SentinelPassword), DB: c.DB, Prefix: r(c.Prefix),
		Timeout: time.Duration(c.Timeout), PoolSize: c.PoolSize,
	}
	for _, a := range c.Addresses {
		out.Addresses = append(out.Addresses, r(a))
	}
	if c.TLS != nil {
		out.TLS = &redisstore.TLS{ServerName: r(c.TLS.ServerName), CAFile: r(c.TLS.CAFile)}
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("store redis: %w", err)
	}
	return out, nil
}

// redisPool keeps one connection per Redis config across config reloads.
var redisPool = caddy.NewUsagePool()

type pooledRedis struct{ *redisstore.Conn }

func (p pooledRedis) Destruct() error { return p.Close() }

// provisionStore builds (or reuses) the Redis connection without
// connecting: `caddy validate` runs Provision too.
func (a *App) provisionStore(ctx caddy.Context) error {
	if a.Store == nil || a.Store.Redis == nil {
		return nil
	}
	cfg, err := a.Store.Redis.resolved()
	if err != nil {
		return err
	}
	key, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	// A hash: the config holds the passwords, and the key is built into
	// other pool keys.
	sum := sha256.Sum256(key)
	a.redisKey = "login_guard.redis." + hex.EncodeToString(sum[:])
	logger := a.logger.Named("store")
	v, _, err := redisPool.LoadOrNew(a.redisKey, func() (caddy.Destructor, error) {
		c, err := redisstore.New(cfg, logger)
		if err != nil {
			return nil, err
		}
		return pooledRedis{c}, nil
	})
	if err != nil {
		a.redisKey = ""
		return err
	}
	a.redis = v.(pooledRedis).Conn
	return a.redis.RegisterMetrics(ctx.GetMetricsRegistry())
}

// startStore connects, checks maxmemory-policy on every master, and binds
// the connection to this instance's key material after comparing its
// fingerprint with the one recorded in Redis. What Redis answers wrong (an
// evicting policy, another deployment's keys) refuses the start, with the
// reason: a guard that believes it shares limits but does not is worse
// than one that does not start. A Redis that cannot be reached does not:
// the routes apply on_store_failure until it answers (redisstore Start).
func (a *App) startStore() error {
	if a.redis == nil {
		return nil
	}
	if err := a.redis.Open(); err != nil {
		return err
	}
	ks := a.Keyset()
	fp := ks.Pseudonym("login_guard/store/fingerprint", "")
	secret := ks.Pseudonym("login_guard/store/secret", "")
	reachable, err := a.redis.Start(fp, []byte(secret))
	if err != nil {
		return err
	}
	cfg := a.redis.Config()
	if !reachable {
		a.logger.Error("redis store unreachable at start: every route applies on_store_failure until it answers; retrying",
			zap.Strings("addresses", cfg.Addresses), zap.Duration("retry_every", redisstore.RetryStartEvery))
		return nil
	}
	a.logger.Info("guard state shared through redis",
		zap.String("mode", cfg.Mode), zap.Strings("addresses", cfg.Addresses), zap.String("prefix", cfg.Prefix), zap.Duration("timeout", cfg.Timeout))
	return nil
}

func (a *App) releaseStore() {
	if a.redisKey != "" {
		_, _ = redisPool.Delete(a.redisKey)
		a.redisKey, a.redis = "", nil
	}
}

// unmarshalStoreOption reads the global block's store option:
//
//	store redis {
//		mode        single|sentinel|cluster
//		address     <host:port> [<host:port>...]
//		master_name <name>
//		username    <user>
//		password    <password>
//		sentinel_password <password>
//		db          <0-15>
//		tls         [{ server_name <name>; ca_file <path> }]
//		prefix      <prefix>
//		timeout     <duration>
//		pool_size   <n>
//	}
func (a *App) unmarshalStoreOption(d *caddyfile.Dispenser, key string) (bool, error) {
	if key != "store" {
		return false, nil
	}
	var kind string
	if err := caddyopt.OneArg(d, &kind); err != nil {
		return true, err
	}
	if kind != "redis" {
		return true, d.Errf("store: unknown store %q (the one shared store is redis; without a store block state stays in memory)", kind)
	}
	c := new(RedisStoreConfig)
	a.Store = &StoreConfig{Redis: c}
	err := caddyopt.EachOption(d, "store redis", nil, func(key string) error {
		var err error
		switch key {
		case "mode":
			if err = caddyopt.OneArg(d, &c.Mode); err == nil {
				err = caddyopt.OneOf(d, c.Mode, redisstore.ModeSingle, redisstore.ModeSentinel, redisstore.ModeCluster)
			}
			if err == nil && c.Mode == redisstore.ModeCluster && c.DB != 0 {
				err = d.Err("store redis: db is not available in cluster mode (a Redis Cluster has only database 0)")
			}
		case "address":
			c.Addresses = d.RemainingArgs()
			if len(c.Addresses) == 0 {
				err = d.ArgErr()
			}
		case "master_name":
			err = caddyopt.NonEmptyArg(d, &c.MasterName)
		case "username":
			err = caddyopt.NonEmptyArg(d, &c.Username)
		case "password":
			err = caddyopt.NonEmptyArg(d, &c.Password)
		case "sentinel_password":
			err = caddyopt.NonEmptyArg(d, &c.SentinelPassword)
		case "db":
			c.DB, err = caddyopt.IntArg(d, 0, 15)
			if err == nil && c.Mode == redisstore.ModeCluster {
				err = d.Err("store redis: db is not available in cluster mode (a Redis Cluster has only database 0)")
			}
		case "tls":
			c.TLS = new(RedisTLSConfig)
			err = caddyopt.EachOption(d, "store redis tls", nil, func(key string) error {
				switch key {
				case "server_name":
					return caddyopt.NonEmptyArg(d, &c.TLS.ServerName)
				case "ca_file":
					return caddyopt.NonEmptyArg(d, &c.TLS.CAFile)
				}
				return d.Errf("store redis tls: unknown option %q", key)
			})
		case "prefix":
			err = caddyopt.NonEmptyArg(d, &c.Prefix)
		case "timeout":
			err = caddyopt.DurationArg(d, &c.Timeout, redisstore.MaxTimeout)
		case "pool_size":
			c.PoolSize, err = caddyopt.IntArg(d, 1, 10000)
		default:
			err = d.Errf("store redis: unknown option %q", key)
		}
		return err
	})
	if err != nil {
		return true, err
	}
	// Check the block as a whole now, so `caddy validate` names its line
	// (placeholders are checked once resolved, at Provision).
	if err := c.checkedAsWritten(); err != nil {
		return true, d.Errf("%v", err)
	}
	return true, nil
}
