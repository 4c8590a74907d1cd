//go:build redis

package redistest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/internal/testkit/redisproc"
	"github.com/login-guard/login_guard/rules/counter"
)

// TestAdminListsAroundUnreadableCounters: a counter in the shared Redis
// whose subject was sealed under other key material (an instance with
// other keys.json, or keys lost and made again) no longer fails the
// admin listing as a whole: the readable counters are listed, the other
// is listed as unreadable with its rule and counts, and a clear by
// address still works. A store that does not answer is a 503, a bad
// filter a 400.
func TestAdminListsAroundUnreadableCounters(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 1, "\t\t\taddress "+srv.Addr())
	if st, _ := f.login(t, 0, "/rate", "203.0.113.10", "jlopez", "wrong"); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	type listing struct {
		Entries []struct {
			Rule       string `json:"rule"`
			Subject    string `json:"subject"`
			Count      int    `json:"count"`
			Unreadable bool   `json:"unreadable"`
		} `json:"entries"`
		Unreadable int `json:"unreadable"`
	}
	var before listing
	if err := json.Unmarshal([]byte(f.admin(t, 0, http.MethodGet, "/login_guard/limits?all=1&route=rate")), &before); err != nil || len(before.Entries) != 1 {
		t.Fatalf("listing before: %+v %v", before, err)
	}

	// Another instance's counter for the same rule, its subject sealed
	// under another secret (the fingerprint as recorded, so it binds).
	ctx := context.Background()
	fp, err := redis.NewClient(&redis.Options{Addr: srv.Addr()}).Get(ctx, redisstore.DefaultPrefix+"fingerprint").Result()
	if err != nil {
		t.Fatal(err)
	}
	c, err := redisstore.New(redisstore.Config{Addresses: []string{srv.Addr()}, Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(ctx, fp, []byte("not the guard's secret, 32 bytes")); err != nil {
		t.Fatal(err)
	}
	rule := "rate/" + before.Entries[0].Rule
	if _, err := redisstore.NewCounter(c).Take(ctx, counter.Key{Rule: rule, Subject: "ip=198.51.100.9/32"}, 10, time.Hour); err != nil {
		t.Fatal(err)
	}

	var after listing
	if err := json.Unmarshal([]byte(f.admin(t, 0, http.MethodGet, "/login_guard/limits?all=1")), &after); err != nil {
		t.Fatal(err)
	}
	if len(after.Entries) != 2 || after.Unreadable != 1 {
		t.Fatalf("listing with an unreadable counter: %+v", after)
	}
	for _, e := range after.Entries {
		readable := e.Subject == "ip=203.0.113.10/32" && !e.Unreadable
		unreadable := e.Subject == "" && e.Unreadable && e.Rule == before.Entries[0].Rule && e.Count == 1
		if !readable && !unreadable {
			t.Fatalf("entry %+v", e)
		}
	}
	f.admin(t, 0, http.MethodDelete, "/login_guard/limits?ip=203.0.113.10")
	var cleared listing
	if err := json.Unmarshal([]byte(f.admin(t, 0, http.MethodGet, "/login_guard/limits?all=1")), &cleared); err != nil || len(cleared.Entries) != 1 || !cleared.Entries[0].Unreadable {
		t.Fatalf("after clearing the readable one: %+v %v", cleared, err)
	}

	// A filter the request got wrong is its 400; a store that does not
	// answer is a 503, not the request's fault.
	status := func(path string) int {
		t.Helper()
		resp, err := client.Get("http://" + f.procs[0].AdminAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := status("/login_guard/limits?ip=nope"); st != http.StatusBadRequest {
		t.Fatalf("a bad address: %d, want 400", st)
	}
	srv.Stop()
	if st := status("/login_guard/limits?all=1"); st != http.StatusServiceUnavailable {
		t.Fatalf("Redis stopped: %d, want 503", st)
	}
}
