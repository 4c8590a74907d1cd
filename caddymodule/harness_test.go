package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
)

// TestMain keeps Caddy's autosave and storage out of the developer's home.
func TestMain(m *testing.M) {
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

// freePort finds a loopback port for Caddy to listen on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// guarded is a running Caddy with the module, loaded from a Caddyfile.
type guarded struct {
	URL     string
	LogPath string
	client  *http.Client
}

// adapt turns a Caddyfile into Caddy JSON the way `caddy adapt` does.
func adapt(t *testing.T, caddyfile string) []byte {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v\n%s", err, caddyfile)
	}
	return cfg
}

// startCaddy runs site (a Caddyfile body for one site, `{{listen}}` where
// the address goes) behind the given global login_guard block. Logs go to
// a JSON file the test can read.
func startCaddy(t *testing.T, global, site string) *guarded {
	t.Helper()
	return startCaddyEdited(t, global, site, nil)
}

// startCaddyEdited is startCaddy with the adapted JSON passed through
// edit first (nil: unchanged), as a config saved by another version
// would differ.
func startCaddyEdited(t *testing.T, global, site string, edit func([]byte) []byte) *guarded {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
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
	order login_guard before reverse_proxy
%s
}
%s
`, filepath.Join(dir, "storage"), logPath, global, strings.ReplaceAll(site, "{{listen}}", fmt.Sprintf("http://127.0.0.1:%d", port)))
	cfg := adapt(t, caddyfile)
	if edit != nil {
		cfg = edit(cfg)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v\n%s", err, caddyfile)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return &guarded{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		LogPath: logPath,
		client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (g *guarded) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (g *guarded) post(t *testing.T, path, contentType, body string, cookies ...*http.Cookie) (*http.Response, string) {
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
	return g.do(t, req)
}

// logs returns the JSON log lines written so far.
func (g *guarded) logs(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(g.LogPath)
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

// rawLogs is the log file as text, for "never appears" checks.
func (g *guarded) rawLogs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(g.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// auditLines are the guard's per-request lines.
func (g *guarded) auditLines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, l := range g.logs(t) {
		if l["msg"] == "login_guard" {
			out = append(out, l)
		}
	}
	return out
}

// received is one request as a fake server saw it, byte for byte.
type received struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	ContentLength          int64
	TransferEncoding       []string
}

// recorder is a fake server that keeps every request it receives and
// answers with respond.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	arrived chan received
	respond func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newRecorder(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, body []byte)) *recorder {
	rec := &recorder{respond: respond, arrived: make(chan received, 1000)}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding}
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

func (rec *recorder) all() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.got...)
}

// next waits for the next request (SmartID calls are asynchronous).
func (rec *recorder) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rec.arrived:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request arrived")
	}
	return received{}
}

// validateCaddyfile adapts and provisions a config without starting it,
// which is what `caddy validate` does.
func validateCaddyfile(t *testing.T, caddyfile string) error {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return err
	}
	return caddy.Validate(mustConfig(t, cfg))
}

func mustConfig(t *testing.T, raw []byte) *caddy.Config {
	t.Helper()
	var c caddy.Config
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}
