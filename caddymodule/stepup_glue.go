package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// StepUpOptions are a route's step-up settings.
type StepUpOptions struct{}

// AppStepUp are the app's step-up settings (passkeys).
type AppStepUp struct{}

func (h *Handler) unmarshalStepUpDirective(d *caddyfile.Dispenser, key string) (bool, error) {
	return false, nil
}

func (a *App) unmarshalStepUpOption(d *caddyfile.Dispenser, key string) (bool, error) {
	return false, nil
}

func (a *App) provisionStepUp(ctx caddy.Context) error { return nil }

func (a *App) stopStepUp() {}

func (h *Handler) provisionStepUp() error { return nil }

// serveStepUp serves an `event step_up` route.
func (h *Handler) serveStepUp(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return caddyhttp.Error(http.StatusNotFound, errDenied)
}

// resumeContinuation finishes a login after a completed step-up; handled
// is false when the request carries no continuation.
func (x *exchange) resumeContinuation(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (handled bool, err error) {
	return false, nil
}

// challenge answers a challenged request. A route without step_up answers
// 401 with a generic body.
func (x *exchange) challenge(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return caddyhttp.Error(http.StatusUnauthorized, errChallenge)
}

// challengeAfterUpstream answers a login challenged after the upstream
// accepted it; held is the withheld upstream response.
func (x *exchange) challengeAfterUpstream(w http.ResponseWriter, r *http.Request, held *heldResponse) error {
	return caddyhttp.Error(http.StatusUnauthorized, errChallenge)
}
