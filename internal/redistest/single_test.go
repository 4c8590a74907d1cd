//go:build redis

package redistest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

func TestTwoInstancesOneRedis(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 300ms")

	t.Run("rate exact across instances", func(t *testing.T) {
		exactRate(t, f, "203.0.113.10")
	})

	t.Run("lockout cannot overshoot under parallel guesses", func(t *testing.T) {
		// 20 parallel wrong guesses for one user over both instances,
		// each from its own address: only the lockout's 3 slots reach
		// the portal.
		f.spread(t, 20, "/lock", "198.51.100.1", "jlopez", "guess")
		if n := f.portal.Count("/lock", "jlopez"); n != 3 {
			t.Fatalf("portal saw %d guesses, want exactly 3", n)
		}
		// Locked on both instances, even with the right password.
		for i := range 2 {
			if st, _ := f.login(t, i, "/lock", "198.51.100.2", "jlopez", password); st == http.StatusSeeOther {
				t.Fatalf("instance %d let a locked user through", i)
			}
		}
		if n := f.portal.Count("/lock", "jlopez"); n != 3 {
			t.Fatalf("portal saw %d attempts after the lock", n)
		}
	})

	t.Run("lockout listed and cleared through the other instance", func(t *testing.T) {
		// The failures that lock are settled after their answers, in
		// the background (redis.md, round trips): the lock shows once
		// they land.
		var list string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			list = f.admin(t, 1, http.MethodGet, "/login_guard/limits?route=lock&user=jlopez")
			if strings.Contains(list, "jlopez") && strings.Contains(list, "locked_until") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance 1 does not list the lock made through both: %s", list)
			}
		}
		f.admin(t, 1, http.MethodDelete, "/login_guard/limits?route=lock&user=jlopez")
		if st, _ := f.login(t, 0, "/lock", "198.51.100.2", "jlopez", password); st != http.StatusSeeOther {
			t.Fatalf("instance 0 still refuses after the clear on instance 1: %d", st)
		}
	})

	t.Run("redis stopped: policy applied within the deadline; restarted: exact again", func(t *testing.T) {
		// Traffic on both instances and both policies while Redis is
		// killed under it.
		type answer struct {
			route   string
			status  int
			started time.Time
			took    time.Duration
		}
		var (
			mu      sync.Mutex
			answers []answer
			wg      sync.WaitGroup
		)
		stop := make(chan struct{})
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				route := []string{"/closed", "/open"}[w%2]
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					st, took := f.login(t, w+i, route, fmt.Sprintf("192.0.2.%d", 1+w), "u", "wrong")
					mu.Lock()
					answers = append(answers, answer{route, st, start, took})
					mu.Unlock()
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		stoppedAt := time.Now()
		srv.Stop()
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
		var during, before int
		for _, a := range answers {
			if a.status == 0 {
				t.Fatalf("a request on %s got no answer", a.route)
			}
			if a.took > 2*time.Second {
				t.Fatalf("a request on %s took %v", a.route, a.took)
			}
			if a.started.Before(stoppedAt) {
				before++
				continue
			}
			during++
			if a.route == "/closed" && a.status == http.StatusSeeOther {
				t.Fatalf("closed route let a request through with Redis down")
			}
			if a.route == "/open" && a.status != http.StatusSeeOther {
				t.Fatalf("open route (on_store_failure allow) answered %d with Redis down", a.status)
			}
		}
		if before == 0 || during < 8 {
			t.Fatalf("traffic too thin to judge: %d answers before the stop, %d during", before, during)
		}
		for _, p := range f.procs {
			if !strings.Contains(p.Log(), "redis store unreachable") {
				t.Fatalf("no log line about the outage:\n%s", p.Log())
			}
		}
		srv.Restart()
		// The breaker lets a probe through after its cool-down; no
		// restart of Caddy is needed. Each instance has its own breaker,
		// so both are probed on the closed route (the open one answers
		// 303 with the store still down).
		deadline := time.Now().Add(15 * time.Second)
		for {
			st0, _ := f.login(t, 0, "/closed", "192.0.2.9", "probe", "wrong")
			st1, _ := f.login(t, 1, "/closed", "192.0.2.9", "probe", "wrong")
			if st0 == http.StatusSeeOther && st1 == http.StatusSeeOther {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not recovered: %d %d", st0, st1)
			}
			time.Sleep(200 * time.Millisecond)
		}
		exactRate(t, f, "203.0.113.20")
	})
}
