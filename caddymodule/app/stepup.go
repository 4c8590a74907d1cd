package app

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/internal/stepup"
)

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
	a.stepRT = new(StepUpRuntime)
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

// ReportStepUpResult tells the engines that asked for a step-up how it
// ended. It returns at once: the reports run in the background.
func (a *App) ReportStepUpResult(st stepup.State, method string, success bool) {
	a.reports.report(a.engineByName, st, method, success)
}
