package caddymodule

import (
	"net/http"
	"testing"

	"github.com/login-guard/login_guard/rules"
)

// BenchmarkStepUpChallenge is the challenge of a login before the
// upstream: the body kept encrypted in the held store and the state sealed
// into its cookie.
func BenchmarkStepUpChallenge(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "login", Event: EventLogin, StepUpOptions: StepUpOptions{StepUp: "/verify"}})
	h.app.stepRT = new(appStepUpRuntime)
	b.Cleanup(h.app.stopStepUp)
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		r := br.next()
		x := &exchange{h: h, start: h.now(), ctx: r.Context()}
		x.attempt = rules.Attempt{Route: h.Name, Event: h.Event, IP: clientIP(r), UserAgent: "bench", Header: r.Header}
		if err := x.readRequest(r); err != nil {
			b.Fatal(err)
		}
		x.verdict.Add(rules.Challenge, "bench")
		if err := x.challenge(w.reset(), r, upstreamOK); err != nil || w.code != http.StatusSeeOther {
			b.Fatal(err, w.code)
		}
	}
}
