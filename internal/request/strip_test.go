package request

import (
	"net/http"
	"slices"
	"testing"
)

// TestStripGuardHeaders: every header under the guard's prefix goes,
// whatever its case (a key set straight into the map need not be
// canonical) and spelt with underscores (a CGI gateway names both
// spellings alike); nothing else does.
func TestStripGuardHeaders(t *testing.T) {
	hdr := http.Header{
		"X-Login-Guard-User":   {"admin"},
		"x-login-guard-score":  {"0"},
		"X-LOGIN-GUARD-Route":  {"login"},
		"x-Login-guard-":       {"empty name after the prefix"},
		"X-Login-Guard":        {"no dash: not the prefix"},
		"X_Login_Guard_User":   {"admin"},
		"x_login-Guard_action": {"allow"},
		"X.Login.Guard.User":   {"kept"},
		"X-Other":              {"kept"},
		"Xlogin-Guard-User":    {"kept"},
		"Content-Type":         {"kept"},
	}
	StripGuardHeaders(hdr)
	var left []string
	for k := range hdr {
		left = append(left, k)
	}
	slices.Sort(left)
	if want := []string{"Content-Type", "X-Login-Guard", "X-Other", "X.Login.Guard.User", "Xlogin-Guard-User"}; !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
}
