//go:build xcaddy

package docscheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestXcaddyBuildAndProductionCaddyfile runs the build the README, the
// production page and its container recipe use — `go run ./examples/build`,
// xcaddy's builder on xcaddy.json — and checks that the binary it makes
// has every login_guard module and accepts docs/production.md's Caddyfile.
// It compiles Caddy, so it is a CI step of its own (.ci/steps, tag xcaddy).
func TestXcaddyBuildAndProductionCaddyfile(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "caddy")
	build := exec.Command("go", "run", "./examples/build", "-o", bin)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go run ./examples/build: %v\n%s", err, out)
	}

	out, err := exec.Command(bin, "list-modules").CombinedOutput()
	if err != nil {
		t.Fatalf("caddy list-modules: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		listed[l] = true
	}
	var want []string
	for _, id := range caddy.Modules() {
		if strings.Contains(id, "login_guard") || id == "caddy.logging.writers.buffered" {
			want = append(want, id)
		}
	}
	sort.Strings(want)
	if len(want) < 5 {
		t.Fatalf("this test binary registers only %v", want)
	}
	for _, id := range want {
		if !listed[id] {
			t.Errorf("the built caddy lacks module %s", id)
		}
	}

	var prod string
	for _, f := range readFences(t, "docs/production.md") {
		if f.lang == "caddyfile" && f.kind == "" {
			prod = f.body
		}
	}
	if prod == "" {
		t.Fatal("docs/production.md has no complete Caddyfile")
	}
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(prod), 0o644); err != nil {
		t.Fatal(err)
	}
	validate := exec.Command(bin, "validate", "--config", "Caddyfile")
	validate.Dir = dir
	validate.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	for _, m := range envPlaceholder.FindAllStringSubmatch(prod, -1) {
		validate.Env = append(validate.Env, m[1]+"=docscheck0value0from0env")
	}
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate of docs/production.md's Caddyfile: %v\n%s", err, out)
	}
}
