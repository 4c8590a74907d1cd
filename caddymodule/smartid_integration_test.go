package caddymodule_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

const reportSite = `{{listen}} {
	login_guard /all {
		event login
		log_user hash
		success {
			location /account
		}
	}
	login_guard /success {
		event login
		report success
		success {
			cookie portal_session
		}
	}
	login_guard /spa {
		event login
		success {
			status 200
			json result.ok true
		}
	}
	reverse_proxy %s
}`

// spaFake answers /spa like a single-page app's login API and everything
// else like the form portal.
func spaFake() func(w http.ResponseWriter, r *http.Request, body []byte) {
	portal := portalFake()
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Path == "/spa" {
			w.Header().Set("Content-Type", "application/json")
			if strings.Contains(string(body), password) {
				http.SetCookie(w, &http.Cookie{Name: "portal_session", Value: "S"})
				io.WriteString(w, `{"result":{"ok":true,"user":"jlopez"}}`)
				return
			}
			io.WriteString(w, `{"result":{"ok":false}}`)
			return
		}
		r.URL.Path = "/api/login"
		portal(w, r, body)
	}
}

func TestReportModesAndSuccessCriteria(t *testing.T) {
	upstream := caddytest.NewRecorder(t, spaFake())
	sid := smartIDServer(t)
	g := caddytest.Start(t, smartidGlobal(sid.URL), fmt.Sprintf(reportSite, upstream.Listener.Addr()))
	form := "application/x-www-form-urlencoded"

	// report all: a failed login is reported, without a session.
	g.Post(t, "/all", form, "username=jlopez&password=wrong")
	ev := checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/login")
	if _, has := ev["session"]; has || ev["user"] != "jlopez" || ev["data"] != "" {
		t.Fatalf("failed login event %v", ev)
	}

	// report success: the failed login is not sent; the next event to
	// arrive (one worker, in order) is the successful login's.
	resp, _ := g.Post(t, "/success", form, "username=mallory&password=wrong")
	if cookieNamed(resp, "login_guard") != nil {
		t.Fatal("a failed login must not get a guard session")
	}
	resp, _ = g.Post(t, "/success", form, "username=jlopez&password="+password)
	if cookieNamed(resp, "login_guard") == nil {
		t.Fatal("a successful login gets a guard session")
	}
	ev = checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/login")
	if ev["user"] != "jlopez" || ev["session"] == nil {
		t.Fatalf("expected the successful login, got %v", ev)
	}

	// A JSON answer judged by a field; the body reaches the client intact.
	resp, body := g.Post(t, "/spa", "application/json", `{"username":"jlopez","password":"`+password+`"}`)
	if resp.StatusCode != 200 || body != `{"result":{"ok":true,"user":"jlopez"}}` || cookieNamed(resp, "login_guard") == nil {
		t.Fatalf("spa success: %d %q %v", resp.StatusCode, body, resp.Cookies())
	}
	resp, body = g.Post(t, "/spa", "application/json", `{"username":"jlopez","password":"nope"}`)
	if resp.StatusCode != 200 || body != `{"result":{"ok":false}}` || cookieNamed(resp, "login_guard") != nil {
		t.Fatalf("spa failure: %d %q %v", resp.StatusCode, body, resp.Cookies())
	}

	lines := g.AuditLines(t)
	if len(lines) != 5 {
		t.Fatalf("%d audit lines", len(lines))
	}
	if u, _ := lines[0]["user"].(string); u == "" || u == "jlopez" {
		t.Fatalf("log_user hash must log a pseudonym, got %q", u)
	}
	if lines[0]["outcome"] != "failure" || lines[2]["outcome"] != "success" || lines[1]["smartid"] != "skipped_failed_login" {
		t.Fatalf("audit outcomes: %v", lines)
	}
}

// blockingSmartID holds every request until release is closed.
func blockingSmartID(t *testing.T) (*caddytest.Recorder, func()) {
	release := make(chan struct{})
	var once sync.Once
	rec := smartIDAnswering(t, func(w http.ResponseWriter) {
		<-release
		w.WriteHeader(http.StatusOK)
	})
	return rec, func() { once.Do(func() { close(release) }) }
}

// TestQueueFullDropsAndCounts: with one worker busy and a queue of one,
// further events are dropped, the user is never delayed, and the audit
// line says so.
func TestQueueFullDropsAndCounts(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid, release := blockingSmartID(t)
	defer release()
	global := strings.Replace(smartidGlobal(sid.URL), "workers  1", "workers 1\n\t\t\tqueue_size 1", 1)
	g := caddytest.Start(t, global, fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr()))

	for i := range 4 {
		resp, _ := g.Post(t, "/api/login", "application/x-www-form-urlencoded", fmt.Sprintf("username=u%d&password=x", i))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i, resp.StatusCode)
		}
		if i == 0 {
			sid.Next(t) // the worker now holds the first event
		}
	}
	var dropped int
	for _, l := range g.AuditLines(t) {
		if l["smartid"] == "dropped_queue_full" {
			dropped++
		}
	}
	if dropped != 2 {
		t.Fatalf("want 2 drops (1 in flight, 1 queued), got %d", dropped)
	}
	release()
	if r := sid.Next(t); !strings.Contains(string(r.Body), `"user":"u1"`) {
		t.Fatalf("the queued event should follow, got %s", r.Body)
	}
	if !strings.Contains(g.RawLogs(t), "smartid event dropped") {
		t.Fatal("drops must be logged")
	}
}

// TestReloadKeepsQueueAndStopDrains: a config reload that keeps the
// smartid block reuses the running queue (nothing lost), and stopping
// Caddy drains what is queued.
func TestReloadKeepsQueueAndStopDrains(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid, release := blockingSmartID(t)
	defer release()
	site := fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr())
	g := caddytest.Start(t, smartidGlobal(sid.URL), site)
	for i := range 3 {
		g.Post(t, "/api/login", "application/x-www-form-urlencoded", fmt.Sprintf("username=before%d&password=x", i))
	}
	sid.Next(t) // first event in flight, two queued

	// Reload with the same smartid block and a changed site.
	g2 := caddytest.Start(t, smartidGlobal(sid.URL), strings.Replace(site, "event login", "event login\n\t\tname renamed", 1))
	g2.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=after&password=x")

	stopped := make(chan error, 1)
	go func() { stopped <- caddy.Stop() }()
	release()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, r := range sid.All() {
		m := jsonBody(t, r.Body)
		users = append(users, m["user"].(string))
	}
	want := []string{"before0", "before1", "before2", "after"}
	if strings.Join(users, ",") != strings.Join(want, ",") {
		t.Fatalf("SmartID got %v, want %v (nothing lost across the reload, drained on stop)", users, want)
	}
}

// TestReloadKeepsInFlightLoginsEvent: a login still waiting on the portal
// while its config is replaced by one without SmartID still has its
// event sent: the old config lets go of the queue only once its in-flight
// requests are done.
func TestReloadKeepsInFlightLoginsEvent(t *testing.T) {
	hold := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(hold) }) }
	defer free()
	portal := portalFake()
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		<-hold
		portal(w, r, body)
	})
	sid := smartIDServer(t)
	site := fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr())
	g := caddytest.Start(t, smartidGlobal(sid.URL), site)

	done := make(chan int, 1)
	go func() {
		resp, err := g.Client.Post(g.URL+"/api/login", "application/x-www-form-urlencoded", strings.NewReader("username=inflight&password="+password))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	upstream.Next(t) // the login is at the portal, in flight

	// The replacing config has no smartid block: nobody else holds the
	// queue. Its port differs, so the old server finishes its request.
	caddytest.Start(t, "", site)
	free()
	if status := <-done; status != http.StatusSeeOther {
		t.Fatalf("in-flight login: %d", status)
	}
	if r := sid.Next(t); !strings.Contains(string(r.Body), `"user":"inflight"`) {
		t.Fatalf("SmartID got %s", r.Body)
	}
	var audit string
	for _, l := range g.AuditLines(t) {
		audit, _ = l["smartid"].(string)
	}
	if audit != "queued" {
		t.Fatalf("audit smartid=%q, want queued", audit)
	}
}

// TestRetriesZeroMeansOneAttempt: `retries 0` is kept (not read as unset)
// and a failing event is tried once, then counted as failed; `drain 0s`
// and `linger 0s` are kept too (a zero that means zero, not the default).
func TestRetriesZeroMeansOneAttempt(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid := smartIDAnswering(t, func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	global := strings.Replace(smartidGlobal(sid.URL), "workers  1", "workers  1\n\t\t\tretries  0\n\t\t\tdrain    0s\n\t\t\tlinger   0s", 1)
	if cfg := string(caddytest.Adapt(t, "{\n"+global+"\n}\n")); !strings.Contains(cfg, `"retries":0`) || !strings.Contains(cfg, `"drain":0`) || !strings.Contains(cfg, `"linger":0`) {
		t.Fatalf("retries 0 / drain 0 / linger 0 lost in the JSON: %s", cfg)
	}
	g := caddytest.Start(t, global, fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr()))
	g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=once&password=x")
	sid.Next(t)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(g.RawLogs(t), "smartid event failed") {
		if time.Now().After(deadline) {
			t.Fatal("the failed event was never reported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Longer than the first backoff (at most 200ms): no second attempt.
	time.Sleep(400 * time.Millisecond)
	if n := len(sid.All()); n != 1 {
		t.Fatalf("SmartID saw %d attempts, want 1", n)
	}
}
