package pages_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
	"github.com/login-guard/login_guard/internal/pages"
)

var fence = regexp.MustCompile("(?s)```caddyfile( global| site)?\n(.*?)```")

// TestDocsSnippets: every Caddyfile snippet in docs/pages.md is caddy
// fmt-clean, adapts and passes `caddy validate`; every code the package
// knows is documented.
func TestDocsSnippets(t *testing.T) {
	raw, err := os.ReadFile("../../docs/pages.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	snippets := fence.FindAllStringSubmatch(doc, -1)
	if len(snippets) < 2 {
		t.Fatalf("found %d snippets", len(snippets))
	}
	for _, m := range snippets {
		kind, body := strings.TrimSpace(m[1]), m[2]
		if got := string(caddyfile.Format([]byte(body))); got != body {
			t.Errorf("snippet is not caddy fmt-clean:\n%s\nwant:\n%s", body, got)
		}
		src := body
		switch kind {
		case "global":
			src = "{\n" + body + "}\nhttp://localhost:8080 {\n\trespond ok\n}\n"
		case "site":
			src = "http://localhost:8080 {\n" + body + "}\n"
		}
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
		if err != nil {
			t.Errorf("snippet does not adapt: %v\n%s", err, src)
			continue
		}
		var c caddy.Config
		if err := json.Unmarshal(cfg, &c); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&c); err != nil {
			t.Errorf("snippet does not validate: %v\n%s", err, src)
		}
	}
	for _, c := range pages.Codes() {
		if !strings.Contains(doc, "`"+string(c)+"`") {
			t.Errorf("docs/pages.md does not document %s", c)
		}
	}
}
