//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// stepUpConfig: a challenged login route (the sandbox challenges
// sandbox-challenge and 192.0.2.2) with a LoginID step-up, a route that
// requires an assertion, a logout route and the step-up tuning under
// test.
func stepUpConfig(portalURL string, kh *loginidfake.KeyHost) string {
	return fmt.Sprintf(`{
	admin {{admin}}
	auto_https off
	storage file_system {{dir}}/storage
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		sandbox
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-faults
			trust_pem %s
		}
		step_up {
			state_ttl        30s
			factor_attempts  3
			held_per_client  10
		}
	}
}
http://127.0.0.1:{{port.http}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines sandbox
		step_up /verify
		max_body 128KiB
	}
	login_guard /api/required {
		event login
		assertion required
	}
	@logout {
		method POST
		path /api/logout
	}
	login_guard @logout {
		event logout
	}
	handle /verify* {
		login_guard {
			event step_up
			methods loginid
		}
	}
	reverse_proxy %s
}
`, kh.URL, kh.CAFile, portalURL)
}

// browser is one client: address, cookies.
type browser struct {
	c   *http.Client
	ip  string
	jar map[string]string
}

func newBrowser(ip string) *browser {
	return &browser{c: client(10 * time.Second), ip: ip, jar: map[string]string{}}
}

func (b *browser) do(method, url, ctype, body string) result {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("X-Forwarded-For", b.ip)
	req.Header.Set("User-Agent", "faults-browser")
	req.Header.Set("X-Login-Guard", "1")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range b.jar {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return result{status: resp.StatusCode, header: resp.Header, body: sb.String()}
}

func (b *browser) finish(base, token string) int {
	j, _ := json.Marshal(map[string]string{"jwt": token})
	return b.do("POST", base+"/verify/loginid/finish", "application/json", string(j)).status
}

// TestStepUpUnderFaults runs items 7 to 11 through one process: a
// required assertion during a key-host outage is denied; refused factors
// spend a state after factor_attempts; the state cookie has the
// configured lifetime; a flood of held logins from one client does not
// cancel a victim's step-up; a logout ends the guard session.
func TestStepUpUnderFaults(t *testing.T) {
	pt, kh := newPortal(t), loginidfake.New(t, "client-faults")
	p := caddyproc.Start(t, stepUpConfig(pt.URL, kh), caddyproc.Options{})
	base := p.URL("http")

	t.Run("assertion required, key host down", func(t *testing.T) {
		kh.SetDown(true)
		b := newBrowser("198.51.100.50")
		r := b.do("POST", base+"/api/required", "application/x-www-form-urlencoded",
			"username=john&password="+password+"&loginid_jwt="+kh.Mint(t, "john", "fido2_login", "down-1", time.Now()))
		if r.status != http.StatusForbidden {
			t.Fatalf("unverifiable assertion on a required route: %d", r.status)
		}
		// The host is back. While its last request had failed, a login
		// waits half a second at most for the fetch that finds out (a
		// loaded machine may take longer): the subtests after this one
		// start once a token verifies again.
		kh.SetDown(false)
		n := 0
		waitFor(t, 20*time.Second, "a token verified after the key host came back", func() bool {
			n++
			r := b.do("POST", base+"/api/required", "application/x-www-form-urlencoded",
				"username=john&password="+password+"&loginid_jwt="+kh.Mint(t, "john", "fido2_login", fmt.Sprint("back-", n), time.Now()))
			return r.status == http.StatusOK
		})
	})

	t.Run("factor attempts and state lifetime", func(t *testing.T) {
		b := newBrowser("198.51.100.51")
		r := b.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password)
		if r.status != http.StatusSeeOther || !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "Max-Age=30") {
			t.Fatalf("challenge: %d %v", r.status, r.header.Values("Set-Cookie"))
		}
		for i := range 3 {
			if got := b.finish(base, kh.Mint(t, "someone-else", "fido2_login", fmt.Sprint("fa-", i), time.Now())); got != http.StatusForbidden {
				t.Fatalf("wrong token %d: %d", i, got)
			}
		}
		if got := b.finish(base, kh.Mint(t, "sandbox-challenge", "fido2_login", "fa-ok", time.Now())); got != http.StatusForbidden {
			t.Fatalf("a right token after three refusals: %d, want the spent state refused", got)
		}
	})

	t.Run("held flood from one client", func(t *testing.T) {
		victim := newBrowser("198.51.100.52")
		if r := victim.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password); r.status != http.StatusSeeOther {
			t.Fatalf("victim's challenge: %d", r.status)
		}
		// 560 challenged POSTs with 60 KiB bodies from one address.
		big := strings.Repeat("z", 60<<10)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fl := newBrowser("192.0.2.2")
				for i := range 70 {
					fl.do("POST", base+"/api/login", "application/x-www-form-urlencoded",
						fmt.Sprintf("username=flood%d-%d&password=x&pad=%s", w, i, big))
				}
			}()
		}
		wg.Wait()
		if got := victim.finish(base, kh.Mint(t, "sandbox-challenge", "fido2_login", "victim-ok", time.Now())); got != http.StatusOK {
			t.Fatalf("victim's factor: %d", got)
		}
		r := victim.do("POST", base+"/verify/complete", "application/x-www-form-urlencoded", "")
		if r.status != http.StatusTemporaryRedirect {
			t.Fatalf("victim's completion: %d %s", r.status, r.body)
		}
		r = victim.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account" {
			t.Fatalf("victim's held login: %d %q", r.status, r.header.Get("Location"))
		}
	})

	t.Run("logout revokes the guard session", func(t *testing.T) {
		b := newBrowser("198.51.100.53")
		if r := b.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "username=jane&password="+password); r.status != http.StatusSeeOther || b.jar["login_guard"] == "" {
			t.Fatalf("login: %d", r.status)
		}
		cookie := b.jar["login_guard"]
		if r := b.do("POST", base+"/api/logout", "", ""); r.status != http.StatusOK {
			t.Fatalf("logout: %d", r.status)
		}
		b.jar["login_guard"] = cookie // the stolen copy, replayed
		b.do("POST", base+"/api/logout", "", "")
		var lines []any
		logouts := func() bool {
			lines = lines[:0]
			for _, l := range audit(p) {
				if l["event"] == "logout" && l["ip"] == "198.51.100.53" {
					lines = append(lines, l["smartid"])
				}
			}
			return len(lines) >= 2
		}
		// The audit line is written once the handler returns, which can
		// be just after the client has its answer.
		waitFor(t, 5*time.Second, "two logout audit lines", logouts)
		if len(lines) != 2 || lines[1] != "skipped_no_session" {
			t.Fatalf("logout audit: %v", lines)
		}
	})
}

// TestSpentStateOutlivesARestart: a step-up state spent by its
// completion stays spent after a restart (without Redis the spent tokens
// are saved in Caddy's storage): a copy of its cookie taken before the
// completion, replayed after the restart with a factor that passes, is
// refused.
func TestSpentStateOutlivesARestart(t *testing.T) {
	pt, kh := newPortal(t), loginidfake.New(t, "client-faults")
	p := caddyproc.Start(t, stepUpConfig(pt.URL, kh), caddyproc.Options{})
	base := p.URL("http")
	b := newBrowser("198.51.100.60")
	if r := b.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password); r.status != http.StatusSeeOther {
		t.Fatalf("challenge: %d", r.status)
	}
	if got := b.finish(base, kh.Mint(t, "sandbox-challenge", "fido2_login", "spent-1", time.Now())); got != http.StatusOK {
		t.Fatalf("factor: %d", got)
	}
	stolen := maps.Clone(b.jar)
	if r := b.do("POST", base+"/verify/complete", "application/x-www-form-urlencoded", ""); r.status != http.StatusTemporaryRedirect {
		t.Fatalf("completion: %d %s", r.status, r.body)
	}
	// Before the restart the copy is refused: the state is spent.
	replay := &browser{c: b.c, ip: b.ip, jar: maps.Clone(stolen)}
	if got := replay.finish(base, kh.Mint(t, "sandbox-challenge", "fido2_login", "spent-2", time.Now())); got != http.StatusForbidden {
		t.Fatalf("the spent state replayed before a restart: %d", got)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	replay = &browser{c: b.c, ip: b.ip, jar: maps.Clone(stolen)}
	if got := replay.finish(base, kh.Mint(t, "sandbox-challenge", "fido2_login", "spent-3", time.Now())); got != http.StatusForbidden {
		t.Fatalf("the spent state replayed after a restart: %d, want it refused", got)
	}
	if r := replay.do("POST", base+"/verify/complete", "application/x-www-form-urlencoded", ""); r.status == http.StatusTemporaryRedirect {
		t.Fatalf("the spent state completed again after a restart: %d", r.status)
	}
	// A new step-up after the restart still works.
	fresh := newBrowser("198.51.100.61")
	if r := fresh.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password); r.status != http.StatusSeeOther {
		t.Fatalf("a new challenge after the restart: %d", r.status)
	}
	if got := fresh.finish(base, kh.Mint(t, "sandbox-challenge", "fido2_login", "fresh-1", time.Now())); got != http.StatusOK {
		t.Fatalf("a new factor after the restart: %d", got)
	}
}

// TestUsedAssertionOutlivesARestart: a LoginID token used once is refused
// when replayed, before a restart and after it (without Redis the tokens
// already used are saved in Caddy's storage).
func TestUsedAssertionOutlivesARestart(t *testing.T) {
	pt, kh := newPortal(t), loginidfake.New(t, "client-faults")
	p := caddyproc.Start(t, stepUpConfig(pt.URL, kh), caddyproc.Options{})
	b := newBrowser("198.51.100.62")
	body := "username=john&password=" + password + "&loginid_jwt=" + kh.Mint(t, "john", "fido2_login", "used-1", time.Now())
	send := func() int {
		return b.do("POST", p.URL("http")+"/api/required", "application/x-www-form-urlencoded", body).status
	}
	if got := send(); got != http.StatusOK {
		t.Fatalf("the token's first use: %d", got)
	}
	if got := send(); got != http.StatusForbidden {
		t.Fatalf("the token replayed: %d", got)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := send(); got != http.StatusForbidden {
		t.Fatalf("the token replayed after a restart: %d, want it refused", got)
	}
	fresh := "username=john&password=" + password + "&loginid_jwt=" + kh.Mint(t, "john", "fido2_login", "used-2", time.Now())
	if r := b.do("POST", p.URL("http")+"/api/required", "application/x-www-form-urlencoded", fresh); r.status != http.StatusOK {
		t.Fatalf("a fresh token after the restart: %d", r.status)
	}
}
