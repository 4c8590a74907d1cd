//go:build faults

package faults

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
)

// keyHost is LoginID's certs endpoint (one PEM key per kid, over TLS);
// down makes it refuse with 503.
type keyHost struct {
	*httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
	caFile string
	mu     sync.Mutex
	down   bool
}

func newKeyHost(t *testing.T) *keyHost {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kh := &keyHost{key: key, kid: "0b6f0bd6-2b4c-4cf2-9f3a-6a0c1f0d9e11"}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	kh.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kh.mu.Lock()
		down := kh.down
		kh.mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Query().Get("kid") != kh.kid {
			http.NotFound(w, r)
			return
		}
		w.Write(pub)
	}))
	t.Cleanup(kh.Close)
	kh.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(kh.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kh.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return kh
}

func (kh *keyHost) setDown(d bool) { kh.mu.Lock(); kh.down = d; kh.mu.Unlock() }

func (kh *keyHost) mint(t *testing.T, user, nonce string) string {
	tok := jwt.New()
	now := time.Now()
	tok.Set(jwt.AudienceKey, "client-faults")
	tok.Set(jwt.IssuedAtKey, now)
	tok.Set(jwt.ExpirationKey, now.Add(time.Minute))
	tok.Set("udata", user)
	tok.Set("type", "fido2_login")
	tok.Set("nonce", nonce)
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, kh.kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, kh.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// stepUpConfig: a challenged login route (the sandbox challenges
// sandbox-challenge and 192.0.2.2) with a LoginID step-up, a route that
// requires an assertion, a logout route and the step-up tuning under
// test.
func stepUpConfig(portalURL string, kh *keyHost) string {
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
`, kh.URL, kh.caFile, portalURL)
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
	pt, kh := newPortal(t), newKeyHost(t)
	p := caddyproc.Start(t, stepUpConfig(pt.URL, kh), caddyproc.Options{})
	base := p.URL("http")

	t.Run("assertion required, key host down", func(t *testing.T) {
		kh.setDown(true)
		defer kh.setDown(false)
		b := newBrowser("198.51.100.50")
		r := b.do("POST", base+"/api/required", "application/x-www-form-urlencoded",
			"username=john&password="+password+"&loginid_jwt="+kh.mint(t, "john", "down-1"))
		if r.status != http.StatusForbidden {
			t.Fatalf("unverifiable assertion on a required route: %d", r.status)
		}
	})

	t.Run("factor attempts and state lifetime", func(t *testing.T) {
		b := newBrowser("198.51.100.51")
		r := b.do("POST", base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password)
		if r.status != http.StatusSeeOther || !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "Max-Age=30") {
			t.Fatalf("challenge: %d %v", r.status, r.header.Values("Set-Cookie"))
		}
		for i := range 3 {
			if got := b.finish(base, kh.mint(t, "someone-else", fmt.Sprint("fa-", i))); got != http.StatusForbidden {
				t.Fatalf("wrong token %d: %d", i, got)
			}
		}
		if got := b.finish(base, kh.mint(t, "sandbox-challenge", "fa-ok")); got != http.StatusForbidden {
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
		if got := victim.finish(base, kh.mint(t, "sandbox-challenge", "victim-ok")); got != http.StatusOK {
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
