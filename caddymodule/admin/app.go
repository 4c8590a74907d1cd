package admin

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
)

// appFinder finds the login_guard app of the config an admin router was
// provisioned for, per request: no package registry, and nothing kept
// from a config that is gone.
type appFinder struct {
	ctx caddy.Context
}

// errStarting answers a request that arrives while the config is still
// loading or its app has not finished starting.
var errStarting = errors.New("login_guard is starting; retry shortly")

// find returns the config's app. Until this router's config is the
// running one, its apps may still be provisioning (Caddy provisions admin
// routers first and serves the admin API meanwhile), so they are not even
// looked at: 503. With needStarted, an app whose Start has not finished
// gets 503 too. A config without login_guard gets 404.
func (f appFinder) find(needStarted bool) (*app.App, error) {
	if f.ctx.Context == nil || caddy.ActiveContext().Context != f.ctx.Context {
		return nil, caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errStarting}
	}
	v, err := f.ctx.AppIfConfigured("login_guard")
	if errors.Is(err, caddy.ErrNotConfigured) {
		return nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no login_guard app in the running config")}
	}
	if err != nil {
		return nil, caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	a, ok := v.(*app.App)
	if !ok || (needStarted && !a.Started()) {
		return nil, caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errStarting}
	}
	return a, nil
}

// handler adapts an endpoint that needs the app; a 503 says when to
// retry.
func (f appFinder) handler(needStarted bool, h func(*app.App, http.ResponseWriter, *http.Request) error) caddy.AdminHandler {
	return caddy.AdminHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		a, err := f.find(needStarted)
		if err != nil {
			var ae caddy.APIError
			if errors.As(err, &ae) && ae.HTTPStatus == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			return err
		}
		return h(a, w, r)
	})
}
