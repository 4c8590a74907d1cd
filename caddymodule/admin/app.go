package admin

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
)

// appFinder finds the login_guard app of the running config, per
// request: no package registry, and nothing kept from a config that is
// gone.
type appFinder struct{}

// errStarting answers a request that arrives before any config with the
// app runs, or while its app has not finished starting.
var errStarting = errors.New("login_guard is starting; retry shortly")

// find returns the running config's app. Not the app of the config this
// router was provisioned for: Caddy installs a config's admin routers
// before it provisions its apps, so while a config loads its apps are not
// ready to be looked at, and when it fails to load its routers stay
// installed while the config before it keeps running. With needStarted,
// an app whose Start has not finished gets 503. A running config without
// login_guard gets 404.
func (appFinder) find(needStarted bool) (*app.App, error) {
	active := caddy.ActiveContext()
	if active.Context == nil {
		return nil, caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errStarting}
	}
	v, err := active.AppIfConfigured("login_guard")
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
