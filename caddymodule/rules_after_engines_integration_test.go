package caddymodule_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestWhenRulesSeeEngineScores: a `when` over the engines' score runs once
// they have answered, so it can turn a high score into a deny.
func TestWhenRulesSeeEngineScores(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	scoring := scoringFake(t)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /api/login {
		event login
		engines scoring
		when "has_score && score >= 50.0" deny high_score
		rate ip 100/1m
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, enginesGlobal(scoring.URL, refusedURL(t)), site)
	form := "application/x-www-form-urlencoded"
	if resp, _ := g.Post(t, "/api/login", form, "username=alice&password=x"); resp.StatusCode != 303 {
		t.Fatalf("low score: %d", resp.StatusCode)
	}
	if resp, _ := g.Post(t, "/api/login", form, "username=odd&password=x"); resp.StatusCode != 403 {
		t.Fatalf("score 55: %d", resp.StatusCode)
	}
	lines := g.AuditLines(t)
	if got := fmt.Sprint(lines[1]["reasons"]); !strings.Contains(got, "high_score") || !strings.Contains(got, "new_device") {
		t.Fatalf("reasons %s", got)
	}
}
