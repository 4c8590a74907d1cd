//go:build faults

package faults

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/enginefake"
	"github.com/login-guard/login_guard/internal/testkit/portalfake"
	"github.com/login-guard/login_guard/internal/testkit/smartidfake"
)

func TestMain(m *testing.M) {
	caddyproc.MaybeRunAsCaddy()
	os.Exit(m.Run())
}

const password = "Pa55-faults-7c1e"

func newPortal(t *testing.T) *portalfake.Portal { return portalfake.New(t, password) }

// smartIDLicense is the license the guard's configs send to the fake SmartID.
const smartIDLicense = "FAULTS-LICENSE"

func newSmartID(t *testing.T) *smartidfake.Server { return smartidfake.New(t, smartIDLicense) }

func newEngine(t *testing.T) *enginefake.Server { return enginefake.New(t, nil) }

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// client is an HTTP client that does not follow redirects.
func client(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// result is one request's answer: status (0 when the connection failed)
// and the error.
type result struct {
	status int
	err    error
	header http.Header
	body   string
}

func post(c *http.Client, url, ctype, body string, hdr map[string]string) result {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func login(c *http.Client, base, user string) result {
	return post(c, base+"/api/login", "application/x-www-form-urlencoded",
		"username="+user+"&password="+password+"&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D", nil)
}

// load sends logins from workers until stop is closed; every answer is
// recorded.
type load struct {
	mu      sync.Mutex
	results map[int]int // status → count (0: connection error)
	errs    []error
	sent    atomic.Int64
	wg      sync.WaitGroup
	stop    chan struct{}
}

func startLoad(base string, workers int, pause time.Duration) *load {
	l := &load{results: map[int]int{}, stop: make(chan struct{})}
	c := client(10 * time.Second)
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				n := l.sent.Add(1)
				r := login(c, base, fmt.Sprintf("load-%d-%d-%d", w, i, n))
				l.mu.Lock()
				l.results[r.status]++
				if r.err != nil && len(l.errs) < 5 {
					l.errs = append(l.errs, r.err)
				}
				l.mu.Unlock()
				if r.err != nil {
					time.Sleep(10 * time.Millisecond) // the process is gone: do not spin
				}
				time.Sleep(pause)
			}
		}()
	}
	return l
}

func (l *load) end() map[int]int {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results
}

// audit returns the guard's audit lines from a process's logs.
func audit(p *caddyproc.Proc) []map[string]any {
	var out []map[string]any
	for _, l := range p.LogLines() {
		if l["msg"] == "login_guard" {
			out = append(out, l)
		}
	}
	return out
}

func countMsg(p *caddyproc.Proc, msg string) int {
	n := 0
	for _, l := range p.LogLines() {
		if l["msg"] == msg {
			n++
		}
	}
	return n
}

// smartIDBalance checks that every login event the guard judged was
// delivered or counted and logged as dropped or failed, by the guard's
// own account (sent + dropped + failed == judged, sent from its debug
// lines), and that the fake SmartID received the sent ones (it may also
// count an attempt the guard abandoned at its drain deadline, at most one
// per worker). No login of a SmartID config says "not_configured".
func smartIDBalance(t *testing.T, p *caddyproc.Proc, accepted int64, skipRoute string) {
	t.Helper()
	judged, notConfigured := 0, 0
	for _, l := range audit(p) {
		if l["event"] != "login" || (skipRoute != "" && l["route"] == skipRoute) {
			continue
		}
		switch l["smartid"] {
		case "queued", "dropped_queue_full", "dropped_stopped":
			judged++
		case "not_configured":
			notConfigured++
		}
	}
	sent := countMsg(p, "smartid event sent")
	dropped, failed := countMsg(p, "smartid event dropped"), countMsg(p, "smartid event failed")
	if notConfigured > 0 {
		t.Errorf("%d logins said smartid not_configured", notConfigured)
	}
	if sent+dropped+failed != judged {
		t.Errorf("SmartID balance: %d sent + %d dropped + %d failed = %d, want the %d logins judged",
			sent, dropped, failed, sent+dropped+failed, judged)
	}
	if acc := int(accepted); acc < sent || acc > sent+4 {
		t.Errorf("the fake SmartID accepted %d events, the guard says it sent %d", acc, sent)
	}
	t.Logf("SmartID: %d judged, %d sent (%d accepted by the fake), %d dropped %v, %d failed",
		judged, sent, accepted, dropped, dropReasons(p), failed)
}

// dropReasons counts the dropped-event log lines by reason.
func dropReasons(p *caddyproc.Proc) map[string]int {
	out := map[string]int{}
	for _, l := range p.LogLines() {
		if l["msg"] == "smartid event dropped" {
			r, _ := l["reason"].(string)
			out[r]++
		}
	}
	return out
}

// metricsPage reads a Prometheus text page.
func metricsPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metric reads one sample from a Prometheus text page ("" when absent).
func metric(t *testing.T, url, series string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	if m := re.FindStringSubmatch(metricsPage(t, url)); m != nil {
		return m[1]
	}
	return ""
}

// reloaded reloads p with cfg and waits until the new config answers a
// request on a new connection. Right after a reload a connection may
// still meet the old server as it closes and end without an answer: a
// test that counts every login's line must not send one there.
func reloaded(t *testing.T, p *caddyproc.Proc, cfg string) {
	t.Helper()
	if err := p.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the reloaded config to answer", func() bool {
		c := client(2 * time.Second)
		defer c.CloseIdleConnections()
		resp, err := c.Get(p.URL("http") + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// waitFor polls cond every 20ms up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// guardConfig is a Caddyfile with the guard in front of the portal: a
// login route (lockout on the user), a logout route, metrics. extraGlobal
// goes into the login_guard block, extraLogin into the login route.
func guardConfig(portalURL, sidURL, extraGlobal, extraLogin string) string {
	smartid := ""
	if sidURL != "" {
		smartid = fmt.Sprintf(`		smartid {
			endpoint %s
			license  %s
			channel  1
			timeout  500ms
			retries  1
			drain    3s
		}
`, sidURL, smartIDLicense)
	}
	return fmt.Sprintf(`{
	admin {{admin}}
	auto_https off
	log smartid {
		include login_guard.smartid
		level DEBUG
	}
	storage file_system {{dir}}/storage
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		sandbox
		passkeys {
			rp_id     localhost
			rp_origin http://localhost
		}
%s%s	}
}
http://127.0.0.1:{{port.http}}, http://localhost:{{port.http}} {
	metrics /metrics
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		success {
			status 303
			location /account
		}
		lockout user 3/1h for 1h deny
%s
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
			methods passkey
		}
	}
	reverse_proxy %s
}
`, smartid, extraGlobal, extraLogin, portalURL)
}

func statusCounts(m map[int]int) string {
	var parts []string
	for s, n := range m {
		parts = append(parts, fmt.Sprintf("%d×%d", n, s))
	}
	return strings.Join(parts, " ")
}
