package app

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// accountEngine records the account of each ReportAuthResult call.
type accountEngine struct{ accounts chan string }

func (e *accountEngine) Name() string { return "forter" }
func (e *accountEngine) Decide(context.Context, *rules.Attempt) (rules.Verdict, error) {
	return rules.Verdict{}, nil
}

func (e *accountEngine) ReportAuthResult(_ context.Context, account, _, _ string, _ bool) error {
	e.accounts <- account
	if account == "fail" {
		return errors.New("refused")
	}
	return nil
}

// TestReportStepUpResult: a step-up with no account is reported as
// Forter's NO_ACCOUNT_ID, and every report's end is logged, a dropped one
// included.
func TestReportStepUpResult(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	eng := &accountEngine{accounts: make(chan string, 3)}
	a := &App{
		engineByName: map[string]*engine.Guarded{"forter": engine.WithBreaker(eng, engine.NewBreaker(engine.BreakerConfig{}))},
		reports:      engine.NewReporter(logReport(zap.New(core))),
	}
	corr := []rules.Correlation{{Engine: "forter", ID: "C1"}}
	a.ReportStepUpResult(stepup.State{Correlations: corr}, "selfie", true)
	a.ReportStepUpResult(stepup.State{Correlations: corr, AccountID: "fail"}, "selfie", false)
	a.reports.Close()
	a.ReportStepUpResult(stepup.State{Correlations: corr, AccountID: "late"}, "selfie", true)
	got := map[string]bool{<-eng.accounts: true, <-eng.accounts: true}
	if !got["NO_ACCOUNT_ID"] || !got["fail"] || len(eng.accounts) != 0 {
		t.Fatalf("accounts reported: %v", got)
	}
	for msg, n := range map[string]int{
		"second-factor result reported":                     1,
		"second-factor result report failed":                1,
		"second-factor result not reported: config stopped": 1,
	} {
		if m := logs.FilterMessage(msg).Len(); m != n {
			t.Errorf("%d log lines %q, want %d", m, msg, n)
		}
	}
}
