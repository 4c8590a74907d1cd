package stepup

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrTarget is wrapped by every ValidateTarget refusal.
var ErrTarget = errors.New("step-up target refused")

func badTarget(why string) error { return fmt.Errorf("%w: %s", ErrTarget, why) }

// maxTargetLen bounds what a target may cost to check and to put in a
// Location header.
const maxTargetLen = 2048

// ValidateTarget accepts a step-up (or return) URL only when a browser
// following it cannot leave the origin or the allowlist: an absolute path
// on this origin ("/verify"), or an https URL whose host is in allowedHosts
// (exact, case-insensitive; an entry without a port matches the default
// port only). Everything browsers interpret loosely is refused: "//host",
// backslashes ("/\host" is "//host" to a browser), control characters and
// whitespace (stripped by URL parsers), encoded slashes or backslashes at
// the start of a path, user info ("https://ok@evil"), and other schemes.
func ValidateTarget(target string, allowedHosts []string) error {
	if target == "" {
		return badTarget("empty")
	}
	if len(target) > maxTargetLen {
		return badTarget("too long")
	}
	for i := 0; i < len(target); i++ {
		c := target[i]
		if c <= ' ' || c == 0x7f || c == '\\' {
			return badTarget("control character, space or backslash")
		}
	}
	lower := strings.ToLower(target)
	if strings.Contains(lower, "%5c") {
		return badTarget("encoded backslash")
	}
	if target[0] == '/' {
		return validatePath(target, lower)
	}
	return validateAbsolute(target, allowedHosts)
}

func validatePath(target, lower string) error {
	if strings.HasPrefix(target, "//") {
		return badTarget("scheme-relative")
	}
	// A path starting with an encoded slash ("/%2F/evil.com") is turned
	// into "//evil.com" by servers and frameworks that decode before
	// redirecting again.
	if strings.HasPrefix(lower, "/%2f") {
		return badTarget("encoded slash")
	}
	u, err := url.Parse(target)
	if err != nil {
		return badTarget("unparsable")
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return badTarget("not a same-origin path")
	}
	return nil
}

func validateAbsolute(target string, allowedHosts []string) error {
	u, err := url.Parse(target)
	if err != nil {
		return badTarget("unparsable")
	}
	if u.Scheme != "https" {
		return badTarget("not https")
	}
	if u.Opaque != "" || u.Host == "" {
		return badTarget("no host")
	}
	if u.User != nil {
		return badTarget("user info")
	}
	if !hostAllowed(u, allowedHosts) {
		return badTarget("host not on the allowlist")
	}
	return nil
}

func hostAllowed(u *url.URL, allowed []string) bool {
	host := strings.ToLower(u.Host)
	name := strings.ToLower(u.Hostname())
	port := u.Port()
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a)), ":443")
		if a == "" {
			continue
		}
		if a == host {
			return true
		}
		if (port == "" || port == "443") && a == name {
			return true
		}
	}
	return false
}

// validateReturn checks a completion's return URL: a same-origin path, or
// with a cookie domain an https URL on a host within that domain (the
// login's host, the step-up being on another).
func validateReturn(ret, domain string) error {
	if domain == "" || strings.HasPrefix(ret, "/") {
		return ValidateTarget(ret, nil)
	}
	u, err := url.Parse(ret)
	if err != nil {
		return badTarget("unparsable")
	}
	host := strings.ToLower(u.Hostname())
	domain = strings.ToLower(strings.TrimPrefix(domain, "."))
	if host != domain && !strings.HasSuffix(host, "."+domain) {
		return badTarget("host outside the cookie domain")
	}
	return ValidateTarget(ret, []string{u.Host})
}
