package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// StepUpOptions are a route's step-up settings. On a login (or operation)
// route they say where a challenged request goes; on an `event step_up`
// route they configure the page and the factors it offers.
type StepUpOptions struct {
	// StepUp is where a challenged request is sent: a same-origin path
	// ("/verify") or an https URL on a host listed in StepUpHosts. Without
	// it a challenge is a plain 401.
	StepUp string `json:"step_up,omitempty"`
	// StepUpHosts are the other hosts StepUp may point at (exact names,
	// optionally with a port).
	StepUpHosts []string `json:"step_up_hosts,omitempty"`
	// StepUpCookieDomain is the Domain of the state cookie when StepUp is
	// on another host: that host must be able to read it. Required then,
	// refused otherwise (a host-only cookie is safer).
	StepUpCookieDomain string `json:"step_up_cookie_domain,omitempty"`
	// Continuation is resume (default: the held login is replayed after
	// the factor) or resubmit (the user submits the form again, once,
	// without a challenge).
	Continuation string `json:"continuation,omitempty"`
	// IPPrefixV4 and IPPrefixV6 bind the state to the client's address
	// prefix (defaults 32 and 64); shorter prefixes tolerate mobile
	// networks that move a client between addresses.
	IPPrefixV4 int `json:"ip_prefix_v4,omitempty"`
	IPPrefixV6 int `json:"ip_prefix_v6,omitempty"`

	// Methods are the factors an `event step_up` route offers: passkey
	// (default), selfie (Smile ID SmartSelfie) and loginid (a LoginID
	// DirectWeb FIDO2 JWT); the page offers each one listed.
	Methods []string `json:"methods,omitempty"`
	// PageTemplate is a file holding an html/template for the step-up
	// page (see internal/stepup.PageData for its fields).
	PageTemplate string `json:"page_template,omitempty"`
	// EnrolDone is where the enrolment page sends the browser after a
	// passkey was registered. Default "/".
	EnrolDone string `json:"enrol_done,omitempty"`

	su *routeStepUp
}

// AppStepUp are the app's step-up settings.
type AppStepUp struct {
	// Passkeys configures the built-in passkey factor (the relying party).
	Passkeys *PasskeysConfig `json:"passkeys,omitempty"`
	// SmileID configures the selfie factor.
	SmileID *SmileIDConfig `json:"smileid,omitempty"`
	// StepUp tunes lifetimes, factor attempts and per-client shares.
	StepUp *StepUpTuning `json:"step_up,omitempty"`

	stepRT  *appStepUpRuntime
	reports *resultReporter
}

func (h *Handler) unmarshalStepUpDirective(d *caddyfile.Dispenser, key string) (bool, error) {
	return h.StepUpOptions.unmarshal(d, key)
}

func (a *App) unmarshalStepUpOption(d *caddyfile.Dispenser, key string) (bool, error) {
	switch key {
	case "passkeys":
		a.Passkeys = new(PasskeysConfig)
		return true, a.Passkeys.unmarshal(d)
	case "step_up":
		if a.StepUp != nil {
			return true, d.Err("step_up given twice")
		}
		a.StepUp = new(StepUpTuning)
		return true, a.StepUp.unmarshal(d)
	case "smileid":
		if a.SmileID != nil {
			return true, d.Err("smileid given twice")
		}
		a.SmileID = new(SmileIDConfig)
		return true, a.SmileID.unmarshal(d)
	}
	return false, nil
}

func (a *App) provisionStepUp(ctx caddy.Context) error {
	a.stepRT = new(appStepUpRuntime)
	if a.StepUp == nil {
		a.StepUp = new(StepUpTuning)
	}
	if err := a.StepUp.provision(); err != nil {
		return err
	}
	if a.Passkeys != nil {
		if err := a.Passkeys.provision(); err != nil {
			return err
		}
		registerPasskeyApp(a)
	}
	if a.SmileID != nil {
		if err := a.SmileID.provision(); err != nil {
			return err
		}
	}
	a.reports = newResultReporter(a.logger.Named("reports"))
	return nil
}

// stopStepUp gives the pooled state back and waits for the second-factor
// reports still running (each bounded by its timeout).
func (a *App) stopStepUp() {
	a.stepRT.release()
	a.reports.close()
}
