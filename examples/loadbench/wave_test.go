package main

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// waveRecorder is an upstream that records each request's user, address
// and the rest of its body.
type waveRecorder struct {
	mu           sync.Mutex
	users, addrs map[string]int
	rests        map[string]int
}

func newWaveRecorder(t *testing.T) (*waveRecorder, string) {
	w := &waveRecorder{users: map[string]int{}, addrs: map[string]int{}, rests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		rest := r.PostForm
		user := rest.Get("username")
		rest.Del("username")
		w.mu.Lock()
		w.users[user]++
		w.addrs[r.Header.Get("X-Forwarded-For")]++
		w.rests[rest.Encode()]++
		w.mu.Unlock()
		rw.WriteHeader(http.StatusSeeOther)
	}))
	t.Cleanup(srv.Close)
	return w, srv.URL
}

// check: every request a user of its own and an address of its own, the
// rest of the body as the scenario's.
func (w *waveRecorder) check(t *testing.T, gen string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	total := 0
	for u, n := range w.users {
		total += n
		if n != 1 || !strings.HasPrefix(u, "w") {
			t.Errorf("%s: user %q sent %d times", gen, u, n)
		}
	}
	if total < 100 {
		t.Fatalf("%s: only %d requests", gen, total)
	}
	if len(w.addrs) != total {
		t.Errorf("%s: %d addresses for %d requests", gen, len(w.addrs), total)
	}
	for a := range w.addrs {
		if !strings.HasPrefix(a, "10.") || strings.Count(a, ".") != 3 {
			t.Errorf("%s: address %q", gen, a)
		}
	}
	want := "password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	if len(w.rests) != 1 || w.rests[want] != total {
		t.Errorf("%s: the rest of the bodies %v, want %q each time", gen, w.rests, want)
	}
}

// TestWaveRequests: the login_wave scenario sends a new user from a new
// address every request, with either generator.
func TestWaveRequests(t *testing.T) {
	t.Run("go", func(t *testing.T) {
		rec, url := newWaveRecorder(t)
		m := generate(request{method: "POST", url: url, body: loginForm, status: 303, wave: true}, 4, time.Minute, 300)
		if m.Requests != 300 || m.Unexpected != 0 {
			t.Fatalf("%d requests, %d unexpected", m.Requests, m.Unexpected)
		}
		rec.check(t, "go")
	})
	t.Run("wrk", func(t *testing.T) {
		if _, err := exec.LookPath("wrk"); err != nil {
			t.Fatal("wrk is not installed (CI installs it: .ci/packages.d/loadbench.txt)")
		}
		rec, url := newWaveRecorder(t)
		g := &wrkGen{dir: t.TempDir(), threads: 2, conns: 4}
		m, err := g.run(request{method: "POST", url: url, body: loginForm, status: 303, wave: true}, time.Second, 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Requests < 100 {
			t.Fatalf("wrk sent %d requests", m.Requests)
		}
		rec.check(t, "wrk")
	})
}
