package caddymodule

import (
	"sync"
	"time"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/stepup"
)

// routeStepUp is a route's step-up machinery, built on first use because
// the used-token set comes from the pool.
type routeStepUp struct {
	prefix stepup.IPPrefix
	page   *stepup.Page
	// now is the clock; tests replace it.
	now func() time.Time

	mu     sync.Mutex
	issuer *stepup.Issuer
	app    *app.StepUpRuntime
}

// stepUpMachinery returns the route's issuer and the app's pooled state.
// Only a success is kept: an error (a request on a stopped config) must
// not stick to the route.
func (h *Handler) stepUpMachinery() (*stepup.Issuer, *app.StepUpRuntime, error) {
	su := h.StepUpOptions.su
	su.mu.Lock()
	defer su.mu.Unlock()
	if su.issuer != nil {
		return su.issuer, su.app, nil
	}
	rt, err := h.app.StepUp()
	if err != nil {
		return nil, nil, err
	}
	now := su.now
	if now == nil {
		now = time.Now
	}
	iss, err := stepup.NewIssuer(stepup.Config{
		Keys:     h.app.Tokens(),
		Used:     rt.Used,
		IPPrefix: su.prefix,
		Now:      now,
	})
	if err != nil {
		return nil, nil, err
	}
	su.issuer, su.app = iss, rt
	return iss, rt, nil
}

// stepUpNow is the route's step-up clock.
func (h *Handler) stepUpNow() time.Time {
	if f := h.StepUpOptions.su.now; f != nil {
		return f()
	}
	return time.Now()
}
