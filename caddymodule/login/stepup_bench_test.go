package login

import (
	"net/http"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// BenchmarkStepUpChallenge is the challenge of a login before the
// upstream: the body kept encrypted in the held store and the state sealed
// into its cookie.
func BenchmarkStepUpChallenge(b *testing.B) {
	h := benchHandler(b, &Handler{Name: "login", Event: EventLogin, StepUpOptions: StepUpOptions{StepUp: "/verify"}})
	b.Cleanup(func() { _ = h.app.Cleanup() })
	br := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	w := newBenchWriter()
	b.ReportAllocs()
	cpuPerOp(b)
	for b.Loop() {
		r := br.next()
		x := &exchange{h: h}
		x.Init(h.route, r, time.Now())
		if err := x.readRequest(r); err != nil {
			b.Fatal(err)
		}
		x.Verdict.Add(rules.Challenge, "bench")
		if err := x.challenge(w.reset(), r, upstreamOK); err != nil || w.code != http.StatusSeeOther {
			b.Fatal(err, w.code)
		}
	}
}
