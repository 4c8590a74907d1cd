package app

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/forter"
	"github.com/login-guard/login_guard/internal/stepup"
)

func (a *App) unmarshalStepUpOption(d *caddyfile.Dispenser, key string) (bool, error) {
	switch key {
	case "passkeys":
		a.Passkeys = new(PasskeysConfig)
		return true, a.Passkeys.unmarshal(d)
	case "step_up":
		a.StepUp = new(StepUpTuning)
		return true, a.StepUp.unmarshal(d)
	case "smileid":
		a.SmileID = new(smileidpool.Config)
		return true, a.SmileID.Unmarshal(d)
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
		if err := a.SmileID.Provision(); err != nil {
			return err
		}
	}
	a.reports = engine.NewReporter(logReport(a.logger.Named("reports")))
	return nil
}

// stopStepUp gives the pooled state back and waits for the second-factor
// reports still running (each bounded by its timeout).
func (a *App) stopStepUp() {
	a.stepRT.release()
	a.reports.Close()
}

// ReportStepUpResult tells the engines that asked for a step-up how it
// ended. It returns at once: the reports run in the background.
func (a *App) ReportStepUpResult(st stepup.State, method string, success bool) {
	account := st.AccountID
	if account == "" {
		account = forter.NoAccountID
	}
	a.reports.Report(a.engineByName, st.Correlations, account, method, success)
}

// logReport logs how each second-factor report ended: one line per
// report, dropped ones included.
func logReport(logger *zap.Logger) func(engine.ReportOutcome) {
	return func(o engine.ReportOutcome) {
		name := zap.String("engine", o.Engine)
		switch {
		case errors.Is(o.Err, engine.ErrReporterClosed):
			logger.Warn("second-factor result not reported: config stopped", name)
		case errors.Is(o.Err, engine.ErrReportsFull):
			logger.Warn("second-factor result not reported: too many reports in flight", name)
		case o.Err != nil:
			logger.Warn("second-factor result report failed", name, zap.String("method", o.Method), zap.Bool("success", o.Success), zap.Error(o.Err))
		default:
			logger.Info("second-factor result reported", name, zap.String("method", o.Method), zap.Bool("success", o.Success))
		}
	}
}
