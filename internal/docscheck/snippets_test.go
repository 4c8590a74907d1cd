package docscheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
)

// wrap turns a fence into a complete Caddyfile per the fence convention.
func wrap(f fence) (string, bool) {
	switch f.kind {
	case "":
		return f.body, true
	case "site":
		return "http://localhost:8080 {\n" + indent(f.body) + "}\n", true
	case "global":
		return "{\n" + indent(f.body) + "}\n\nhttp://localhost:8080 {\n\trespond ok\n}\n", true
	}
	return "", false
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = "\t" + l
		}
	}
	return strings.Join(lines, "")
}

var envPlaceholder = regexp.MustCompile(`\{env\.([A-Za-z0-9_]+)\}`)

// setEnvFor gives every {env.NAME} a snippet reads a plausible value, the
// way an operator's environment would, so validation gets past "not set".
func setEnvFor(t *testing.T, config string) {
	for _, m := range envPlaceholder.FindAllStringSubmatch(config, -1) {
		name, v := m[1], "docscheck0value0from0env"
		switch {
		case strings.HasSuffix(name, "_URL") || strings.HasSuffix(name, "_ENDPOINT"):
			v = "https://service.example.com"
		case strings.HasSuffix(name, "_CHANNEL"):
			v = "1"
		}
		t.Setenv(name, v)
	}
}

// adaptAndValidate adapts a Caddyfile with the module loaded, refuses any
// adapter warning (Caddy warns about unformatted input) and validates the
// result the way `caddy validate` does (every module provisioned).
func adaptAndValidate(config, filename string) ([]byte, error) {
	cfgJSON, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(config), map[string]any{"filename": filename})
	if err != nil {
		return nil, err
	}
	if len(warnings) > 0 {
		var ws []string
		for _, w := range warnings {
			ws = append(ws, w.String())
		}
		return cfgJSON, &warningsError{ws}
	}
	var cfg caddy.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return cfgJSON, err
	}
	return cfgJSON, caddy.Validate(&cfg)
}

type warningsError struct{ w []string }

func (e *warningsError) Error() string { return "adapter warnings: " + strings.Join(e.w, "; ") }

// TestCaddyfileSnippets: every ```caddyfile fence in the README and docs/
// adapts and validates with the module loaded, is `caddy fmt` clean, keeps
// secrets out of the adapted config ({env.*}, never {$...}) and repeats no
// directive order the module registers itself.
func TestCaddyfileSnippets(t *testing.T) {
	n := 0
	for _, f := range allFences(t) {
		if f.lang != "caddyfile" {
			continue
		}
		n++
		t.Run(f.where(), func(t *testing.T) { checkSnippet(t, f) })
	}
	if n < 10 {
		t.Fatalf("found only %d caddyfile fences; is the fence convention still followed?", n)
	}
}

// checkSnippet holds one Caddyfile to the fence convention and the
// project's rules for examples.
func checkSnippet(t *testing.T, f fence) {
	if formatted := string(caddyfile.Format([]byte(f.body))); formatted != f.body {
		t.Errorf("%s: not `caddy fmt` clean; formatted it reads:\n%s", f.where(), formatted)
	}
	if strings.Contains(f.body, "{$") {
		t.Errorf("%s: uses {$...}: it is substituted when the Caddyfile is read and lands in the adapted JSON and autosave.json; use {env.NAME}", f.where())
	}
	if regexp.MustCompile(`(?m)^\s*order\s+login_guard\b`).MatchString(f.body) {
		t.Errorf("%s: repeats `order login_guard ...`, which the module registers itself", f.where())
	}
	config, ok := wrap(f)
	if !ok {
		t.Fatalf("%s: unknown fence kind %q (want none, site or global)", f.where(), f.kind)
	}
	setEnvFor(t, config)
	out, err := adaptAndValidate(config, f.where())
	if err != nil {
		t.Fatalf("%s: %v\n--- as validated:\n%s", f.where(), err, config)
	}
	for _, m := range envPlaceholder.FindAllStringSubmatch(config, -1) {
		if v := caddy.NewReplacer().ReplaceKnown(m[0], ""); len(v) > 8 && strings.Contains(string(out), v) {
			t.Errorf("%s: the value of %s appears in the adapted JSON", f.where(), m[0])
		}
	}
}

// TestJSONConfigSnippets: every ```json config fence is a complete Caddy
// JSON config that validates with the module loaded.
func TestJSONConfigSnippets(t *testing.T) {
	n := 0
	for _, f := range allFences(t) {
		if f.lang != "json" || f.kind != "config" {
			continue
		}
		n++
		t.Run(f.where(), func(t *testing.T) {
			setEnvFor(t, f.body)
			var cfg caddy.Config
			dec := json.NewDecoder(strings.NewReader(f.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cfg); err != nil {
				t.Fatalf("%s: %v", f.where(), err)
			}
			if err := caddy.Validate(&cfg); err != nil {
				t.Fatalf("%s: %v", f.where(), err)
			}
		})
	}
	if n == 0 {
		t.Fatal("no ```json config fence found: the JSON reference should show a validated config")
	}
}

func TestWrapConvention(t *testing.T) {
	site, _ := wrap(fence{kind: "site", body: "respond ok\n\nlog\n"})
	if site != "http://localhost:8080 {\n\trespond ok\n\n\tlog\n}\n" {
		t.Errorf("site wrap: %q", site)
	}
	if _, err := adaptAndValidate(site, "site"); err != nil {
		t.Errorf("site wrap does not validate: %v", err)
	}
	global, _ := wrap(fence{kind: "global", body: "admin off\n"})
	if _, err := adaptAndValidate(global, "global"); err != nil {
		t.Errorf("global wrap does not validate: %v", err)
	}
	// The check must be able to fail: an unformatted, unknown or
	// unvalidatable snippet is refused.
	if _, err := adaptAndValidate("http://localhost:8080 {\n  respond ok\n}\n", "x"); err == nil {
		t.Error("an unformatted Caddyfile passed")
	}
	if _, err := adaptAndValidate("http://localhost:8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tbogus 1\n\t}\n}\n", "x"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("an unknown subdirective passed: %v", err)
	}
	if in := "a {\n  b\n}\n"; string(caddyfile.Format([]byte(in))) == in {
		t.Error("caddyfile.Format left an indentation of spaces alone; the fmt check cannot fail")
	}
	if _, ok := wrap(fence{kind: "sites"}); ok {
		t.Error("an unknown fence kind was accepted")
	}
}

// TestExampleCaddyfilesFollowTheConventions: the demo's Caddyfile and
// examples/*.Caddyfile are held to the same rules as the doc snippets.
func TestExampleCaddyfilesFollowTheConventions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "examples", "*.Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "Caddyfile"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, file)
		f := fence{file: rel, line: 1, lang: "caddyfile", body: string(raw)}
		t.Run(rel, func(t *testing.T) { checkSnippet(t, f) })
	}
}
