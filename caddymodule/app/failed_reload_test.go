package app

import (
	"net"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/clients/engine"
)

// TestFailedReloadLeavesPoolsToTheRunningConfig: a reload whose http app
// cannot start (its port is taken) is refused, and the config before it
// keeps running. Caddy starts apps in no fixed order, so the refused
// config's login_guard may have started first and pointed the shared
// passkey state at its own storage and keys; when it lets go they must
// point at the running config's again, and the breaker gauge show the
// running config's breakers. Twenty refused reloads make it
// near certain that some started login_guard first.
func TestFailedReloadLeavesPoolsToTheRunningConfig(t *testing.T) {
	const guard = `{"passkeys":{"rp_id":"example.com","rp_origins":["https://example.com"]}}`
	if err := caddy.Run(appOnlyConfig(t, guard)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	v, err := caddy.ActiveContext().App("login_guard")
	if err != nil {
		t.Fatal(err)
	}
	running := v.(*App)
	pp := running.stepRT.pp
	if pp == nil {
		t.Fatal("no pooled passkeys")
	}
	// The running config's sandbox breaker is open; each refused config
	// starts with its own, closed.
	sandbox, _, _ := running.Engine("sandbox")
	for range 5 {
		tk, _ := sandbox.Breaker().Allow()
		sandbox.Breaker().Record(tk, &engine.Failure{Kind: engine.KindTimeout})
	}
	breakerGauge := func() float64 {
		fams, err := running.ctx.GetMetricsRegistry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "caddy_login_guard_engine_breaker_state" {
				for _, m := range f.GetMetric() {
					if m.GetLabel()[0].GetValue() == "sandbox" {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		return -1
	}
	if breakerGauge() != float64(engine.Open) {
		t.Fatalf("the open breaker shows %v", breakerGauge())
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	refused := appOnlyConfig(t, guard)
	refused.AppsRaw["http"] = []byte(`{"servers":{"s":{"listen":["` + taken.Addr().String() + `"]}}}`)
	for i := range 20 {
		err := caddy.Run(refused)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("reload %d: want it refused for the taken port, got %v", i, err)
		}
		if st, _ := pp.store.Current(); st != running.ctx.Storage() {
			t.Fatalf("reload %d: the passkey store is not the running config's", i)
		}
		if pp.keys.p.Load() != running {
			t.Fatalf("reload %d: the passkey keys are not the running config's", i)
		}
		if g := breakerGauge(); g != float64(engine.Open) {
			t.Fatalf("reload %d: the breaker gauge shows %v, not the running config's open breaker", i, g)
		}
	}
	if caddy.ActiveContext().Context != running.ctx.Context {
		t.Fatal("the running config changed")
	}
}
