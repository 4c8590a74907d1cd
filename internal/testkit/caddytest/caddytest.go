// Package caddytest starts a real Caddy in the test's process with the
// login_guard modules loaded from a Caddyfile, and records what fake
// servers receive: the one harness of every test that runs Caddy in
// process. Importing it registers every login_guard module and Caddy's
// standard modules.
package caddytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard/caddymodule"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// Main runs a test binary's tests with Caddy's autosave and storage kept
// out of the developer's home: call it from TestMain.
func Main(m *testing.M) {
	home, err := os.MkdirTemp("", "login_guard_test_home")
	if err != nil {
		panic(err)
	}
	os.Setenv("HOME", home)
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	os.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// Guarded is a running Caddy with the module, loaded from a Caddyfile.
type Guarded struct {
	URL     string
	LogPath string
	// Client does not follow redirects: tests look at each answer.
	Client *http.Client
}

// Adapt turns a Caddyfile into Caddy JSON the way `caddy adapt` does.
func Adapt(t *testing.T, caddyfile string) []byte {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v\n%s", err, caddyfile)
	}
	return cfg
}

// Start runs site (a Caddyfile body for one site, `{{listen}}` where the
// address goes) behind the given global options (a login_guard block, for
// one). Logs go to a JSON file the test can read; Caddy stops when the
// test ends.
func Start(t *testing.T, global, site string) *Guarded {
	t.Helper()
	return StartEdited(t, global, site, nil)
}

// StartEdited is Start with the adapted JSON passed through edit first
// (nil: unchanged), as a config saved by another version would differ.
func StartEdited(t *testing.T, global, site string, edit func([]byte) []byte) *Guarded {
	t.Helper()
	dir := t.TempDir()
	port := ports.Free(t)
	logPath := filepath.Join(dir, "caddy.log")
	caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %s
	log {
		output file %s
		format json
		level DEBUG
	}
%s
}
%s
`, filepath.Join(dir, "storage"), logPath, global, strings.ReplaceAll(site, "{{listen}}", fmt.Sprintf("http://127.0.0.1:%d", port)))
	cfg := Adapt(t, caddyfile)
	if edit != nil {
		cfg = edit(cfg)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v\n%s", err, caddyfile)
	}
	t.Cleanup(func() {
		_ = caddy.Stop()
		if log, err := os.ReadFile(logPath); err == nil {
			if p := LoggedPanic(log); p != "" {
				t.Errorf("a request panicked: %s", p)
			}
		}
	})
	return &Guarded{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		LogPath: logPath,
		Client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// LoggedPanic returns the first request panic a Caddy log holds (its
// message and the start of its stack), or "" when there is none. Go's
// HTTP server recovers a handler's panic, logs it and drops the
// connection, which a test driving requests may take for a reset
// connection: the harnesses read the log when a test ends.
func LoggedPanic(log []byte) string {
	i := bytes.Index(log, []byte("http: panic serving"))
	if i < 0 {
		return ""
	}
	return string(log[i:min(len(log), i+800)])
}

// Do sends req and returns the answer with its body read.
func (g *Guarded) Do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Post sends a POST with the given body and cookies.
func (g *Guarded) Post(t *testing.T, path, contentType, body string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return g.Do(t, req)
}

// Logs returns the JSON log lines written so far.
func (g *Guarded) Logs(t *testing.T) []map[string]any {
	t.Helper()
	return JSONLines(t, g.LogPath)
}

// JSONLines reads a log file of JSON lines (an access log, say).
func JSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		out = append(out, m)
	}
	return out
}

// RawLogs is the log file as text, for "never appears" checks.
func (g *Guarded) RawLogs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(g.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// AuditLines are the guard's per-request lines.
func (g *Guarded) AuditLines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, l := range g.Logs(t) {
		if l["msg"] == "login_guard" {
			out = append(out, l)
		}
	}
	return out
}

// Received is one request as a fake server saw it, byte for byte.
type Received struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	ContentLength          int64
	TransferEncoding       []string
}

// Recorder is a fake server that keeps every request it receives and
// answers with respond.
type Recorder struct {
	*httptest.Server
	mu      sync.Mutex
	got     []Received
	arrived chan Received
	respond func(w http.ResponseWriter, r *http.Request, body []byte)
}

// NewRecorder starts a Recorder; it stops when the test ends.
func NewRecorder(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, body []byte)) *Recorder {
	rec := &Recorder{respond: respond, arrived: make(chan Received, 1000)}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := Received{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding}
		rec.mu.Lock()
		rec.got = append(rec.got, got)
		rec.mu.Unlock()
		rec.arrived <- got
		if rec.respond != nil {
			rec.respond(w, r, body)
		}
	}))
	t.Cleanup(rec.Close)
	return rec
}

// All returns every request received so far.
func (rec *Recorder) All() []Received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Received(nil), rec.got...)
}

// Next waits for the next request (SmartID calls are asynchronous).
func (rec *Recorder) Next(t *testing.T) Received {
	t.Helper()
	select {
	case r := <-rec.arrived:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request arrived")
	}
	return Received{}
}

// ValidateCaddyfile adapts and provisions a config without starting it,
// which is what `caddy validate` does.
func ValidateCaddyfile(t *testing.T, caddyfile string) error {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return err
	}
	return caddy.Validate(MustConfig(t, cfg))
}

// MustConfig decodes Caddy JSON.
func MustConfig(t *testing.T, raw []byte) *caddy.Config {
	t.Helper()
	var c caddy.Config
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}
