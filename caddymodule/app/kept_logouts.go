package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/internal/savedset"
)

// Logouts a Redis store's connection kept (served during an outage, not
// yet taken by Redis) outlive the connection. When it closes with some
// left, the closing config hands them to the config now running, if that
// one has a Redis store (a reload that changed the store block), or else
// saves them in Caddy's storage, where the next start with the same store
// takes them back (a stop during an outage). Without this, a logout
// served during an outage was a session again once the instance stopped
// and Redis came back.

// keptLogoutsPrefix is where the saved logouts go, one directory a store
// (see storeIdentity), one file a hand-off.
const keptLogoutsPrefix = "login_guard/kept_logouts"

// keptLogoutsTimeout bounds the saving at a stop and the restoring at a
// start: a storage that hangs (Caddy's file storage takes no deadline)
// must not hold up either. A save not done in time is logged as lost
// (it may still land, and be restored by a later start); a restore not
// done in time goes on after the start.
const keptLogoutsTimeout = 10 * time.Second

// liveRevocations is the Redis revocation set of the config that started
// last, while it runs: a closing connection hands its kept logouts there.
var liveRevocations atomic.Pointer[redisstore.RevokeSet]

// storeIdentity names the Redis store a file's logouts belong to: its
// mode, addresses, database and key prefix (not its timeouts or
// credentials), so instances sharing Caddy's storage but not Redis never
// take each other's.
func storeIdentity(cfg redisstore.Config) string {
	addrs := slices.Clone(cfg.Addresses)
	slices.Sort(addrs)
	sum := sha256.Sum256([]byte(cfg.Mode + "\n" + strings.Join(addrs, ",") + "\n" + cfg.MasterName + "\n" + strconv.Itoa(cfg.DB) + "\n" + cfg.Prefix))
	return hex.EncodeToString(sum[:8])
}

// handOffKept is the hand-off a config gives its Redis connection at
// start (see Conn.HandOffKept): to the running config's set when that is
// another one, else, and for what it cannot keep, to storage.
func handOffKept(own *redisstore.RevokeSet, st certmagic.Storage, dir string, logger *zap.Logger) func([]redisstore.KeptLogout) error {
	return func(kept []redisstore.KeptLogout) error {
		if live := liveRevocations.Load(); live != nil && live != own {
			var taken int
			taken, kept = live.Restore(kept, time.Now())
			if taken > 0 {
				logger.Info("logouts kept through a redis outage handed to the running config", zap.Int("logouts", taken))
			}
			if len(kept) == 0 {
				return nil
			}
		}
		err := savedset.Within(keptLogoutsTimeout, func() error { return saveKeptLogouts(st, dir, kept) })
		if err == nil {
			logger.Info("logouts kept through a redis outage saved for the next start to send", zap.Int("logouts", len(kept)))
		}
		return err
	}
}

// saveKeptLogouts writes kept as one file under dir, named by the time and
// a random suffix, so instances sharing storage never overwrite each
// other's.
func saveKeptLogouts(st certmagic.Storage, dir string, kept []redisstore.KeptLogout) error {
	b, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	key := path.Join(dir, strconv.FormatInt(time.Now().UnixNano(), 10)+"-"+savedset.RandomName()+".json")
	return st.Store(context.Background(), key, b)
}

// restoreKeptLogouts takes back into rs the logouts saved under dir,
// deleting each file once read, waiting at most keptLogoutsTimeout (the
// rest goes on in the background). A file it cannot read is logged and
// left for a later start; nothing here fails the start.
func restoreKeptLogouts(st certmagic.Storage, dir string, rs *redisstore.RevokeSet, logger *zap.Logger) {
	err := savedset.Within(keptLogoutsTimeout, func() error {
		restoreKeptFiles(st, dir, rs, logger)
		return nil
	})
	if err != nil {
		logger.Warn("restoring the logouts saved through a redis outage goes on after the start", zap.Error(err))
	}
}

func restoreKeptFiles(st certmagic.Storage, dir string, rs *redisstore.RevokeSet, logger *zap.Logger) {
	ctx := context.Background()
	keys, err := savedset.List(ctx, st, dir)
	if err != nil {
		logger.Warn("could not list the logouts saved through a redis outage", zap.Error(err))
		return
	}
	restored, refused := 0, 0
	for _, key := range keys {
		// Only whole files: an atomic write's temporary file is listed
		// too while another instance saves.
		if !strings.HasSuffix(key, ".json") {
			continue
		}
		n, lost, err := restoreKeptFile(ctx, st, dir, key, rs)
		if err != nil {
			logger.Warn("could not restore logouts saved through a redis outage", zap.String("key", key), zap.Error(err))
			continue
		}
		restored, refused = restored+n, refused+lost
	}
	if restored > 0 {
		logger.Info("logouts saved through a redis outage restored: refused here, sent to redis once it takes them",
			zap.Int("logouts", restored))
	}
	if refused > 0 {
		logger.Warn("logouts saved through a redis outage not restored: this instance keeps no more, saved again for a later start",
			zap.Int("logouts", refused))
	}
}

// restoreKeptFile restores one saved file into rs. What rs cannot keep
// (its bound reached, or its connection closing) is saved again, in a
// new file, before the file is deleted; if that fails the file stays.
func restoreKeptFile(ctx context.Context, st certmagic.Storage, dir, key string, rs *redisstore.RevokeSet) (restored, refused int, err error) {
	b, err := st.Load(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil // another instance took it first
	}
	if err != nil {
		return 0, 0, err
	}
	var kept []redisstore.KeptLogout
	if err := json.Unmarshal(b, &kept); err != nil {
		return 0, 0, fmt.Errorf("not a list of logouts: %v", err)
	}
	restored, left := rs.Restore(kept, time.Now())
	if len(left) > 0 {
		if err := saveKeptLogouts(st, dir, left); err != nil {
			return restored, len(left), fmt.Errorf("saving again what was not restored: %w", err)
		}
	}
	if err := st.Delete(ctx, key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return restored, len(left), err
	}
	return restored, len(left), nil
}
