package request

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/stepup"
)

// TestStepUpAnswerOfAStoreOutage: a step-up token the shared store could
// not check is told "unavailable" (503) with Retry-After, not "already
// confirmed"; a replay is still told so, without Retry-After.
func TestStepUpAnswerOfAStoreOutage(t *testing.T) {
	hdr := http.Header{}
	a := StepUpAnswer(hdr, "step_up_store_unavailable")
	if a.Code != pages.Unavailable || a.Code.Status() != http.StatusServiceUnavailable || hdr.Get("Retry-After") != StoreRetryAfter {
		t.Fatalf("store unavailable: %+v, Retry-After %q", a, hdr.Get("Retry-After"))
	}
	hdr = http.Header{}
	if a := StepUpAnswer(hdr, "step_up_replayed"); a.Code != pages.StepUpUsed || hdr.Get("Retry-After") != "" {
		t.Fatalf("replayed: %+v, Retry-After %q", a, hdr.Get("Retry-After"))
	}
}

// TestUsedStepCookieKeptWhenUnchecked: a one-time token's cookie is
// cleared once its use was tried, unless the shared store could not check
// it (it was not spent).
func TestUsedStepCookieKeptWhenUnchecked(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/login", nil)
	for _, c := range []struct {
		err     error
		cleared bool
	}{
		{nil, true},
		{&stepup.Error{Reason: stepup.ReasonReplayed}, true},
		{&stepup.Error{Reason: stepup.ReasonReplayFull}, true},
		{&stepup.Error{Reason: stepup.ReasonStoreUnavailable}, false},
	} {
		hdr := http.Header{}
		ClearUsedStepCookie(hdr, r, CookieContinue, "", c.err)
		if cleared := len(hdr["Set-Cookie"]) > 0; cleared != c.cleared {
			t.Errorf("%v: cleared %v, want %v", c.err, cleared, c.cleared)
		}
	}
}
