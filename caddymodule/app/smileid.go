package app

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/smileidpool"
)

// takeSmileID loads (or makes) the pooled client for the app's config.
func (a *App) takeSmileID() (*smileidpool.Pooled, string, error) {
	key := a.SmileID.PoolKey() + ":" + a.redisKey
	v, _, err := stepUpPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		p, err := a.SmileID.NewPooled(a.redis)
		if err != nil {
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		return nil, "", err
	}
	p := v.(*smileidpool.Pooled)
	p.Hold(a.stepRT, a.logger.Named("smileid"), a.metrics)
	return p, key, nil
}
