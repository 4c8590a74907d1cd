//go:build redis

package redistest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/portalfake"
)

const password = "correct horse"

// newPortal is the upstream both instances proxy to, a login form on
// every path. A slow portal keeps
// every attempt in flight at once, which is what a lockout's reservations
// must hold against.
func newPortal(t *testing.T) *portalfake.Portal {
	p := portalfake.New(t, password, portalfake.AnyPath)
	p.SetDelay(20 * time.Millisecond)
	return p
}

// fleetCaddyfile is one instance's config: shared storage (the guard's
// key material) and the shared Redis. store is the body of `store redis`.
const fleetCaddyfile = `{
	admin {{admin}}
	auto_https off
	storage file_system %[1]s
	servers {
		trusted_proxies static 127.0.0.0/8
	}
	login_guard {
		store redis {
%[2]s
		}
%[4]s
	}
}
http://127.0.0.1:{{port.site}} {
	login_guard /rate {
		name rate
		event login
		rate ip 10/1h deny
	}
	login_guard /lock {
		name lock
		event login
		success {
			status 303
			location /account
		}
		lockout user 3/1h for 1h deny
	}
	login_guard /open {
		name open
		event login
		rate ip 1000/1h deny
		on_store_failure allow
	}
	login_guard /closed {
		name closed
		event login
		rate ip 1000/1h deny
	}
%[5]s
	reverse_proxy %[3]s
}
`

type fleet struct {
	procs   []*caddyproc.Proc
	portal  *portalfake.Portal
	storage string // the Caddy storage every instance shares
}

// startFleet runs n Caddy processes sharing storage and the Redis store.
// extra is added to the global login_guard block, then to the site.
func startFleet(t *testing.T, n int, store string, extra ...string) *fleet {
	t.Helper()
	f := &fleet{portal: newPortal(t), storage: t.TempDir()}
	storage := f.storage
	extra = append(extra, "", "")
	cfg := fmt.Sprintf(fleetCaddyfile, storage, store, f.portal.Listener.Addr(), extra[0], extra[1])
	for range n {
		f.procs = append(f.procs, caddyproc.Start(t, cfg, caddyproc.Options{}))
	}
	return f
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// login posts a form login to instance i of the fleet as a browser at ip.
func (f *fleet) login(t *testing.T, i int, path, ip, user, pass string) (int, time.Duration) {
	form := url.Values{"username": {user}, "password": {pass}}
	req, _ := http.NewRequest(http.MethodPost, f.procs[i%len(f.procs)].URL("site")+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("login on instance %d: %v", i, err)
		return 0, time.Since(start)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// spread sends n logins in parallel, alternating instances, and returns
// the statuses counted.
func (f *fleet) spread(t *testing.T, n int, path, ip, user, pass string) map[int]int {
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := f.login(t, i, path, ip, user, pass)
			mu.Lock()
			got[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got
}

func (f *fleet) admin(t *testing.T, i int, method, path string) string {
	req, _ := http.NewRequest(method, "http://"+f.procs[i].AdminAddr+path, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin %s %s: %s %s", method, path, resp.Status, b)
	}
	return string(b)
}

// exactRate: 40 parallel attempts from one address, spread over both
// instances, against `rate ip 10/1h`: exactly 10 reach the portal.
func exactRate(t *testing.T, f *fleet, ip string) {
	t.Helper()
	got := f.spread(t, 40, "/rate", ip, "user-of-"+ip, "wrong")
	if got[http.StatusSeeOther] != 10 || got[http.StatusTooManyRequests] != 30 {
		t.Fatalf("statuses %v, want 10×303 and 30×429", got)
	}
	if n := f.portal.Count("/rate", "user-of-"+ip); n != 10 {
		t.Fatalf("portal saw %d attempts, want exactly 10", n)
	}
}
