package caddymodule

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"

	"github.com/login-guard/login_guard/internal/stepup"
)

// StepUpTuning are the lifetimes and shares every step-up of the config
// obeys (the `step_up` block of the global login_guard options). Being
// app-wide, every route issues and checks states under the same
// lifetimes. Unset (zero) values take the defaults; none of these has a
// meaningful zero.
type StepUpTuning struct {
	// StateTTL is how long a user has to pass the factor: 30s to 15m,
	// default 5m.
	StateTTL caddy.Duration `json:"state_ttl,omitempty"`
	// ContinuationTTL is how long the continuation cookie (one redirect)
	// lives: 5s to 5m, default 1m.
	ContinuationTTL caddy.Duration `json:"continuation_ttl,omitempty"`
	// FactorAttempts is how many refused factors (passkey assertions,
	// LoginID tokens, selfies) one state allows before it is spent:
	// 1 to 10, default 3.
	FactorAttempts int `json:"factor_attempts,omitempty"`
	// HeldPerClient and HeldBytesPerClient cap the held logins one client
	// (the state's address prefix) may have waiting: default 20 and
	// 2 MiB. HeldPerUser caps them per user name: default 5. A challenge
	// over a cap, or with the store full, is not held: it falls back to
	// `continuation resubmit` (the user submits the form again after the
	// factor); nobody else's entry is evicted.
	HeldPerClient      int   `json:"held_per_client,omitempty"`
	HeldBytesPerClient int64 `json:"held_bytes_per_client,omitempty"`
	HeldPerUser        int   `json:"held_per_user,omitempty"`
	// CeremoniesPerClient caps passkey ceremonies in flight per client
	// (default 20); SelfiesPerClient caps selfie submissions in flight
	// per client (default 2) and PendingSelfiesPerClient the Smile ID jobs
	// awaiting a result per client (default 5). Over a cap the client's
	// request is refused with 429; nobody else's is dropped.
	CeremoniesPerClient     int `json:"ceremonies_per_client,omitempty"`
	SelfiesPerClient        int `json:"selfies_per_client,omitempty"`
	PendingSelfiesPerClient int `json:"pending_selfies_per_client,omitempty"`
}

// Defaults and bounds of StepUpTuning.
const (
	defaultCeremoniesPerClient     = 20
	defaultSelfiesPerClient        = 2
	defaultPendingSelfiesPerClient = 5
	maxPerClient                   = 10_000
)

func (t *StepUpTuning) provision() error {
	if t.StateTTL == 0 {
		t.StateTTL = caddy.Duration(stepup.DefaultStateTTL)
	}
	if t.ContinuationTTL == 0 {
		t.ContinuationTTL = caddy.Duration(stepup.DefaultContinueTTL)
	}
	if t.FactorAttempts == 0 {
		t.FactorAttempts = stepup.DefaultMaxFailures
	}
	if t.HeldPerClient == 0 {
		t.HeldPerClient = stepup.DefaultHeldClientEntries
	}
	if t.HeldBytesPerClient == 0 {
		t.HeldBytesPerClient = stepup.DefaultHeldClientBytes
	}
	if t.HeldPerUser == 0 {
		t.HeldPerUser = stepup.DefaultHeldUserEntries
	}
	if t.CeremoniesPerClient == 0 {
		t.CeremoniesPerClient = defaultCeremoniesPerClient
	}
	if t.SelfiesPerClient == 0 {
		t.SelfiesPerClient = defaultSelfiesPerClient
	}
	if t.PendingSelfiesPerClient == 0 {
		t.PendingSelfiesPerClient = defaultPendingSelfiesPerClient
	}
	switch {
	case time.Duration(t.StateTTL) < stepup.MinStateTTL || time.Duration(t.StateTTL) > stepup.MaxStateTTL:
		return fmt.Errorf("step_up: state_ttl must be from %v to %v", stepup.MinStateTTL, stepup.MaxStateTTL)
	case time.Duration(t.ContinuationTTL) < stepup.MinContinueTTL || time.Duration(t.ContinuationTTL) > stepup.MaxContinueTTL:
		return fmt.Errorf("step_up: continuation_ttl must be from %v to %v", stepup.MinContinueTTL, stepup.MaxContinueTTL)
	case t.FactorAttempts < 1 || t.FactorAttempts > stepup.MaxMaxFailures:
		return fmt.Errorf("step_up: factor_attempts must be from 1 to %d", stepup.MaxMaxFailures)
	case t.HeldBytesPerClient < 1<<10 || t.HeldBytesPerClient > stepup.DefaultHeldMaxBytes:
		return fmt.Errorf("step_up: held_bytes_per_client must be from 1KiB to %s", humanize.IBytes(stepup.DefaultHeldMaxBytes))
	}
	for _, v := range []int{t.HeldPerClient, t.HeldPerUser, t.CeremoniesPerClient, t.SelfiesPerClient, t.PendingSelfiesPerClient} {
		if v < 1 || v > maxPerClient {
			return fmt.Errorf("step_up: per-client and per-user caps must be from 1 to %d", maxPerClient)
		}
	}
	return nil
}

func (t *StepUpTuning) unmarshal(d *caddyfile.Dispenser) error {
	return eachOption(d, "step_up", nil, func(key string) error {
		var err error
		switch key {
		case "state_ttl":
			err = boundedDurationArg(d, &t.StateTTL, stepup.MinStateTTL, stepup.MaxStateTTL)
		case "continuation_ttl":
			err = boundedDurationArg(d, &t.ContinuationTTL, stepup.MinContinueTTL, stepup.MaxContinueTTL)
		case "factor_attempts":
			t.FactorAttempts, err = intArg(d, 1, stepup.MaxMaxFailures)
		case "held_per_client":
			t.HeldPerClient, err = intArg(d, 1, maxPerClient)
		case "held_bytes_per_client":
			var s string
			if err = oneArg(d, &s); err == nil {
				n, perr := humanize.ParseBytes(s)
				if perr != nil || n < 1<<10 || n > stepup.DefaultHeldMaxBytes {
					return d.Errf("step_up: held_bytes_per_client %q must be a size from 1KiB to %s", s, humanize.IBytes(stepup.DefaultHeldMaxBytes))
				}
				t.HeldBytesPerClient = int64(n)
			}
		case "held_per_user":
			t.HeldPerUser, err = intArg(d, 1, maxPerClient)
		case "ceremonies_per_client":
			t.CeremoniesPerClient, err = intArg(d, 1, maxPerClient)
		case "selfies_per_client":
			t.SelfiesPerClient, err = intArg(d, 1, maxPerClient)
		case "pending_selfies_per_client":
			t.PendingSelfiesPerClient, err = intArg(d, 1, maxPerClient)
		default:
			return d.Errf("step_up: unknown option %q", key)
		}
		return err
	})
}
