package stepup

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTarget(t *testing.T) {
	allow := []string{"verify.example.com", "Auth.Example.NET:8443", "sso.example.org:443"}
	cases := []struct {
		target string
		ok     bool
	}{
		{"/verify", true},
		{"/login_guard/step_up?x=1#top", true},
		{"/", true},
		{"/a/../b", true},
		{"/%2e%2e/verify", true},
		{"https://verify.example.com/step", true},
		{"https://VERIFY.example.com:443/step", true},
		{"https://auth.example.net:8443/x", true},
		{"https://sso.example.org/x", true},

		{"", false},
		{"verify", false},
		{"//evil.com", false},
		{"//evil.com/verify", false},
		{"/\\evil.com", false},
		{"\\\\evil.com", false},
		{"/%5Cevil.com", false},
		{"/%2F%2Fevil.com", false},
		{"/%2fevil.com", false},
		{"/\t/evil.com", false},
		{"/ /evil.com", false},
		{" /verify", false},
		{"/verify\r\nSet-Cookie: x=1", false},
		{"/\x00", false},
		{"https://evil.com/", false},
		{"https://verify.example.com.evil.com/", false},
		{"https://evil.com#verify.example.com", false},
		{"https://verify.example.com@evil.com/", false},
		{"https://user:pw@verify.example.com/", false},
		{"http://verify.example.com/", false},
		{"https:verify.example.com", false},
		{"https:/verify.example.com", false},
		{"https:///verify.example.com", false},
		{"javascript:alert(1)", false},
		{"data:text/html,x", false},
		{"https://verify.example.com:8443/", false},
		{"https://auth.example.net/", false},
		{"/" + strings.Repeat("a", 3000), false},
	}
	for _, c := range cases {
		err := ValidateTarget(c.target, allow)
		if c.ok && err != nil {
			t.Errorf("%q refused: %v", c.target, err)
		}
		if !c.ok && !errors.Is(err, ErrTarget) {
			t.Errorf("%q accepted (err %v)", c.target, err)
		}
	}
}

func TestValidateTargetNoAllowlist(t *testing.T) {
	if err := ValidateTarget("https://verify.example.com/", nil); err == nil {
		t.Fatal("absolute URL accepted without an allowlist")
	}
	if err := ValidateTarget("https://verify.example.com/", []string{"", "  "}); err == nil {
		t.Fatal("blank allowlist entries matched")
	}
}
