package login

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// BenchmarkStepUpChallenge is the challenge of a login before the
// upstream: the body kept encrypted in the held store and the state sealed
// into its cookie.
func BenchmarkStepUpChallenge(b *testing.B) {
	h := testHandler(b, &Handler{Name: "login", Event: EventLogin, StepUpOptions: StepUpOptions{StepUp: "/verify"}})
	b.Cleanup(func() { _ = h.app.Cleanup() })
	body := "username=jlopez&password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	b.ReportAllocs()
	for b.Loop() {
		r := newRequest(http.MethodPost, "/api/login", "application/x-www-form-urlencoded", body)
		w := httptest.NewRecorder()
		x := &exchange{h: h}
		x.Init(h.route, r, time.Now())
		if err := x.readRequest(r); err != nil {
			b.Fatal(err)
		}
		x.Verdict.Add(rules.Challenge, "bench")
		if err := x.challenge(w, r, upstreamOK); err != nil || w.Code != http.StatusSeeOther {
			b.Fatal(err, w.Code)
		}
	}
}
