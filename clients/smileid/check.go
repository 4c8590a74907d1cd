package smileid

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// CheckHTTPSURL is the rule for the base URL and the callback URL the
// guard gives Smile ID: https, a host, and no credentials, query or
// fragment. name names the option in the error.
func CheckHTTPSURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("smileid: %s must be an https URL without credentials or query", name)
	}
	return nil
}

// CheckResultCodes checks Smile ID result codes: four digits each.
func CheckResultCodes(codes []string) error {
	for _, c := range codes {
		if len(c) != 4 || strings.Trim(c, "0123456789") != "" {
			return fmt.Errorf("smileid: result code %q is not four digits", c)
		}
	}
	return nil
}

// Bounds of the paid-job limits as a config gives them: a window of a
// month at most.
const (
	MaxRateN      = 1_000_000
	MaxLimitKeys  = 10_000_000
	MaxRateWindow = 30 * 24 * time.Hour
)

// The longest durations a config may give. A selfie is submitted while
// a person waits on the step-up page, whose state lives at most 15
// minutes: a job's result (PendingTTL) or a callback's timestamp
// (SignatureWindow) further off than an hour serves no step-up, and a
// call to Smile ID (Timeout, an upload of up to 8 MiB of images
// included) is not waited for longer than a minute.
const (
	MaxSignatureWindow = time.Hour
	MaxPendingTTL      = time.Hour
	MaxTimeout         = time.Minute
)

// CheckServer checks the server option: sandbox, production or unset,
// and never together with a base URL, which replaces it.
func CheckServer(server, baseURL string) error {
	switch server {
	case "", "sandbox", "production":
	default:
		return fmt.Errorf("smileid: server must be sandbox or production, not %q", server)
	}
	if server != "" && baseURL != "" {
		return fmt.Errorf("smileid: give server or base_url, not both")
	}
	return nil
}

// CheckLimits checks the paid-job limits as a config gives them: each
// count from 0 (no limit) to MaxRateN with a window from 0 (the default
// limit) to MaxRateWindow, and the limiter's table size from 1 to MaxLimitKeys
// (zero: the default).
func CheckLimits(user, ip Rate, keys int) error {
	for _, l := range []struct {
		name string
		r    Rate
	}{{"user_limit", user}, {"ip_limit", ip}} {
		if l.r.N < 0 || l.r.N > MaxRateN {
			return fmt.Errorf("smileid: %s must be from 0 to %d, not %d", l.name, MaxRateN, l.r.N)
		}
		if l.r.Window < 0 || l.r.Window > MaxRateWindow {
			return fmt.Errorf("smileid: %s_window must be a positive duration of at most %v, not %v", l.name, MaxRateWindow, l.r.Window)
		}
	}
	if keys < 0 || keys > MaxLimitKeys {
		return fmt.Errorf("smileid: limit_keys must be from 1 to %d, not %d", MaxLimitKeys, keys)
	}
	return nil
}
