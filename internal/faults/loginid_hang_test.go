//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// TestHangingLoginIDKeyHost: a LoginID key host that hangs holds a login
// whose key is not cached for fetch_timeout, once, as the outage begins;
// while the host's last request failed, later logins wait for the fetch
// they start half a second at most (it goes on in the background) and get
// the route's policy for a token that cannot be checked; once the host
// answers again, logins verify.
func TestHangingLoginIDKeyHost(t *testing.T) {
	const fetchTimeout = 2 * time.Second
	pt, kh := newPortal(t), loginidfake.New(t, "client-faults")
	p := caddyproc.Start(t, fmt.Sprintf(`{
	admin {{admin}}
	auto_https off
	storage file_system {{dir}}/storage
	login_guard {
		loginid {
			mode          pem
			key_url       %s/certs
			client_id     client-faults
			trust_pem     %s
			fetch_timeout %v
		}
	}
}
http://127.0.0.1:{{port.http}} {
	login_guard /api/required {
		event login
		assertion required
	}
	reverse_proxy %s
}
`, kh.URL, kh.CAFile, fetchTimeout, pt.URL), caddyproc.Options{})
	c := client(15 * time.Second)
	nonce := 0
	send := func() (result, time.Duration) {
		nonce++
		start := time.Now()
		r := post(c, p.URL("http")+"/api/required", "application/x-www-form-urlencoded",
			"username=john&password="+password+"&loginid_jwt="+kh.Mint(t, "john", "fido2_login", fmt.Sprint("hang-", nonce), time.Now()), nil)
		if r.err != nil {
			t.Fatalf("login %d: %v", nonce, r.err)
		}
		return r, time.Since(start)
	}
	// The audit line of the login just answered (the process may write
	// it a moment after the answer).
	unverifiable := func(what string) {
		t.Helper()
		var lines []map[string]any
		waitFor(t, 10*time.Second, what+"'s audit line", func() bool {
			lines = audit(p)
			return len(lines) >= nonce
		})
		if l := lines[nonce-1]; !slices.Contains(strs(l["reasons"]), "assertion_unverifiable") {
			t.Fatalf("%s: audit line %v, want reason assertion_unverifiable", what, l)
		}
	}

	kh.SetHang(true)
	r, took := send()
	if r.status != http.StatusForbidden || took < fetchTimeout {
		t.Fatalf("first login while the key host hangs: %d after %v, want 403 after fetch_timeout (%v)", r.status, took, fetchTimeout)
	}
	unverifiable("first login")
	// The host still hangs, and the bucket lets this login's fetch
	// through: were the login held on it, it would take fetch_timeout
	// (not the half second it may wait).
	for i := range 2 {
		r, took = send()
		if r.status != http.StatusForbidden || took >= fetchTimeout {
			t.Fatalf("login %d while the key host still hangs: %d after %v, want 403 without waiting fetch_timeout on the host", i+2, r.status, took)
		}
		unverifiable(fmt.Sprint("login ", i+2))
	}

	kh.SetHang(false)
	waitFor(t, 20*time.Second, "a login verified once the key host answers", func() bool {
		r, _ := send()
		return r.status == http.StatusOK
	})
}

// strs is a JSON array of strings as a slice.
func strs(v any) []string {
	var out []string
	a, _ := v.([]any)
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
