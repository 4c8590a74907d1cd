//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/enginefake"
	"github.com/login-guard/login_guard/internal/testkit/smartidfake"
)

// TestSmartIDOutagesNeverSlowLogins: SmartID refusing connections,
// hanging, answering 500 or 429 while logins flow. Every login gets the
// portal's answer, and every event is sent, or counted and logged as
// failed or dropped.
func TestSmartIDOutagesNeverSlowLogins(t *testing.T) {
	pt, sid := newPortal(t), newSmartID(t)
	for _, mode := range []string{"refused", "hang", "500", "429"} {
		t.Run(mode, func(t *testing.T) {
			url := sid.URL
			if mode == "refused" {
				url = closedURL(t)
			} else {
				sid.SetMode(smartidfake.Mode(mode))
			}
			before := sid.Accepted()
			p := caddyproc.Start(t, guardConfig(pt.URL, url, "", ""), caddyproc.Options{})
			l := startLoad(p.URL("http"), 4, 2*time.Millisecond)
			time.Sleep(700 * time.Millisecond)
			results := l.end()
			if len(results) != 1 || results[http.StatusSeeOther] == 0 {
				t.Errorf("logins during the outage: %s (want only 303)", statusCounts(results))
			}
			if err := p.Stop(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			smartIDBalance(t, p, sid.Accepted()-before, "") // this mode's deliveries only
			sid.SetMode(smartidfake.OK)
		})
	}
}

// TestRetriesZeroIsOneAttempt: `retries 0` against a failing SmartID:
// one attempt per event.
func TestRetriesZeroIsOneAttempt(t *testing.T) {
	pt, sid := newPortal(t), newSmartID(t)
	sid.SetMode(smartidfake.Fail)
	cfg := strings.Replace(guardConfig(pt.URL, sid.URL, "", ""), "retries  1", "retries  0", 1)
	p := caddyproc.Start(t, cfg, caddyproc.Options{})
	c := client(5 * time.Second)
	for i := range 20 {
		if r := login(c, p.URL("http"), fmt.Sprint("r0-", i)); r.status != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i, r.status)
		}
	}
	waitFor(t, 10*time.Second, "20 failed events", func() bool { return countMsg(p, "smartid event failed") == 20 })
	time.Sleep(500 * time.Millisecond) // longer than any backoff
	if n := sid.Attempts(); n != 20 {
		t.Fatalf("SmartID saw %d attempts for 20 events with retries 0", n)
	}
}

// TestEngineFaults: the engine slow (past the deadline), down, answering
// garbage or 500: every login gets on_engine_failure's outcome (allow
// here) within the deadline, and each failure kind is counted.
func TestEngineFaults(t *testing.T) {
	pt, eng := newPortal(t), newEngine(t)
	down := closedURL(t)
	global := fmt.Sprintf(`		http scoring {
			url %s
		}
		http down {
			url %s
		}
		breaker {
			failures 1000
		}
`, eng.URL, down)
	p := caddyproc.Start(t, guardConfig(pt.URL, "", global, "\t\tengines scoring down\n\t\tdeadline 300ms"), caddyproc.Options{})
	c := client(5 * time.Second)
	for _, mode := range []enginefake.Mode{enginefake.ByUser, enginefake.Slow, enginefake.Garbage, enginefake.Fail} {
		eng.SetMode(mode)
		for i := range 5 {
			r := login(c, p.URL("http"), fmt.Sprintf("eng-%s-%d", mode, i))
			if r.status != http.StatusSeeOther {
				t.Fatalf("%s: login got %d", mode, r.status)
			}
		}
	}
	m := p.URL("http") + "/metrics"
	for _, series := range []string{
		`caddy_login_guard_engine_errors_total{engine="scoring",kind="timeout"}`,
		`caddy_login_guard_engine_errors_total{engine="scoring",kind="malformed"}`,
		`caddy_login_guard_engine_errors_total{engine="scoring",kind="status_5xx"}`,
		`caddy_login_guard_engine_errors_total{engine="down",kind="refused"}`,
	} {
		if metric(t, m, series) == "" {
			t.Errorf("no %s", series)
		}
	}
}

// TestPortalFaults: the portal down (502 from the proxy, no failed login
// counted), slow, and abandoned by impatient clients (499: no failed
// login), then the right password still logs in.
func TestPortalFaults(t *testing.T) {
	pt := newPortal(t)
	p := caddyproc.Start(t, guardConfig(pt.URL, "", "", ""), caddyproc.Options{})
	base := p.URL("http")
	c := client(5 * time.Second)
	// Slow portal, impatient clients: three abandoned logins.
	pt.SetDelay(time.Second)
	impatient := client(150 * time.Millisecond)
	for range 3 {
		if r := login(impatient, base, "victim"); r.err == nil {
			t.Fatalf("the impatient client got an answer: %d", r.status)
		}
	}
	time.Sleep(time.Second) // the proxy notices each disconnect
	pt.SetDelay(0)
	if r := login(c, base, "victim"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/account" {
		t.Fatalf("after three abandoned logins: %d %q", r.status, r.header.Get("Location"))
	}
	// Each abandoned login's line is written when its handler ends, once
	// the proxy noticed the disconnect, and then crosses the process's
	// pipe: wait for the three.
	n499 := func() int {
		n := 0
		for _, l := range audit(p) {
			if l["smartid"] == "skipped_client_gone" && l["outcome"] == nil {
				n++
			}
		}
		return n
	}
	waitFor(t, 5*time.Second, "three abandoned logins marked skipped_client_gone", func() bool { return n499() >= 3 })
	if n := n499(); n != 3 {
		t.Errorf("the abandoned logins are not marked: %d", n)
	}
	// Portal down: 502, and not a failed login either.
	pt.Close()
	for range 4 {
		if r := login(c, base, "victim2"); r.status != http.StatusBadGateway {
			t.Fatalf("portal down: %d", r.status)
		}
	}
	for _, l := range audit(p) {
		if l["user"] == "victim2" && l["outcome"] == "failure" {
			t.Fatalf("a proxy error counted as a failed login: %v", l)
		}
	}
}

// TestOversizeAfterUpstreamDenied: the portal answers an accepted login
// with a body over hold_limit and the engine denies: the client gets the
// guard's 403, the audit line and the settlement happen.
func TestOversizeAfterUpstreamDenied(t *testing.T) {
	pt := newPortal(t)
	pt.SetBigBody(256 << 10)
	p := caddyproc.Start(t, guardConfig(pt.URL, "", "", "\t\tengines sandbox\n\t\tevaluate after_upstream\n\t\thold_limit 4096"), caddyproc.Options{})
	c := client(5 * time.Second)
	for _, ip := range []string{"192.0.2.3", "192.0.2.2"} { // sandbox: deny, challenge
		r := post(c, p.URL("http")+"/api/login", "application/x-www-form-urlencoded", "username=big&password="+password, map[string]string{"X-Forwarded-For": ip})
		if r.err != nil || r.status != http.StatusForbidden || strings.Contains(r.body, "xxxx") {
			t.Fatalf("%s: %d %v", ip, r.status, r.err)
		}
	}
	if r := post(c, p.URL("http")+"/api/login", "application/x-www-form-urlencoded", "username=big&password="+password, nil); r.status != http.StatusSeeOther {
		t.Fatalf("the next login of the same user: %d", r.status)
	}
	// The audit line is written once the handler returns, which can be
	// just after the client has its answer.
	waitFor(t, 5*time.Second, "3 audit lines", func() bool { return len(audit(p)) >= 3 })
	if n := len(audit(p)); n != 3 {
		t.Fatalf("%d audit lines, want 3", n)
	}
}

// TestMalformedBodiesAtVolume: 1200 malformed, hostile or over-size
// bodies from 8 clients: no 5xx and no dropped connection; the ones the
// guard cannot read the way every framework would are refused with a
// 4xx before the portal sees them.
func TestMalformedBodiesAtVolume(t *testing.T) {
	pt := newPortal(t)
	p := caddyproc.Start(t, guardConfig(pt.URL, "", "", ""), caddyproc.Options{})
	bodies := []struct{ ctype, body string }{
		{"application/json", `{"username":"a","username":"b","password":"x"}`},
		{"application/json", `{"username":`},
		{"application/x-www-form-urlencoded", "username=a&username=b&password=x"},
		{"application/x-www-form-urlencoded", "username=%zz&password=x"},
		{"text/xml", "<login><username>a</username></login>"},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\na\r\n--x"},
		{"application/x-www-form-urlencoded", "username=a&password=" + strings.Repeat("x", 70<<10)},
		{"application/json; charset=utf-16", `{"username":"a"}`},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := map[string]int{}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(10 * time.Second)
			for i := range 150 {
				b := bodies[(i+w)%len(bodies)]
				r := post(c, p.URL("http")+"/api/login", b.ctype, b.body, nil)
				refusedForSure := b.ctype != "application/json; charset=utf-16" && !strings.HasPrefix(b.ctype, "multipart/")
				if r.err != nil || r.status >= 500 || (refusedForSure && r.status < 400) {
					mu.Lock()
					bad[fmt.Sprintf("%s → %d %v", b.ctype, r.status, r.err)]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("answers that are not a clean refusal: %v", bad)
	}
	// At most the three logins before user "a" is locked out reach the
	// portal (the bodies the guard reads, with no password).
	if n := pt.Logins(); n > 3 {
		t.Fatalf("the portal saw %d of the malformed logins", n)
	}
}

// TestKeyFloodKeepsALockedKey: a user locked out, then 3000 distinct keys
// from a flood into a store of 1000: the lock holds.
func TestKeyFloodKeepsALockedKey(t *testing.T) {
	pt := newPortal(t)
	global := "\t\trules_store {\n\t\t\tmax_keys 1000\n\t\t}\n"
	p := caddyproc.Start(t, guardConfig(pt.URL, "", global, ""), caddyproc.Options{})
	base := p.URL("http")
	c := client(5 * time.Second)
	wrong := func(user string) result {
		return post(c, base+"/api/login", "application/x-www-form-urlencoded", "username="+user+"&password=wrong", nil)
	}
	for range 3 {
		wrong("locked")
	}
	if r := login(c, base, "locked"); r.status != http.StatusForbidden {
		t.Fatalf("the user is not locked: %d", r.status)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := client(5 * time.Second)
			for i := range 500 {
				post(cc, base+"/api/login", "application/x-www-form-urlencoded", fmt.Sprintf("username=flood-%d-%d&password=wrong", w, i), nil)
			}
		}()
	}
	wg.Wait()
	if r := login(c, base, "locked"); r.status != http.StatusForbidden {
		t.Fatalf("after the key flood the locked user got %d", r.status)
	}
}
