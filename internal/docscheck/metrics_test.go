package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// registeredMetrics finds every Prometheus metric the module's non-test Go
// source defines: each prometheus.*Opts literal with a literal Name (joined
// with its Namespace and Subsystem), and any literal full name
// "caddy_login_guard_...".
func registeredMetrics(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{} // name → file that defines it
	full := regexp.MustCompile(`^caddy_login_guard_[a-z0-9_]+$`)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" {
					return true
				}
				parts := map[string]string{}
				for _, e := range n.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					k, ok1 := kv.Key.(*ast.Ident)
					v, ok2 := kv.Value.(*ast.BasicLit)
					if ok1 && ok2 && v.Kind == token.STRING {
						parts[k.Name], _ = strconv.Unquote(v.Value)
					}
				}
				if parts["Name"] == "" {
					t.Errorf("%s: a prometheus.%s whose Name is not a literal; the docs check cannot see it", rel, sel.Sel.Name)
					return true
				}
				var name []string
				for _, p := range []string{parts["Namespace"], parts["Subsystem"], parts["Name"]} {
					if p != "" {
						name = append(name, p)
					}
				}
				out[strings.Join(name, "_")] = rel
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil && full.MatchString(s) {
					out[s] = rel
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMetricsDocumented: docs/metrics.md names every metric the code
// registers, and the README and docs name no metric the code does not have.
func TestMetricsDocumented(t *testing.T) {
	code := registeredMetrics(t)
	if len(code) < 5 {
		t.Fatalf("found only %d metrics in the source: the scan is broken (%v)", len(code), code)
	}
	page, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range code {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.Contains(string(page), "`"+n+"`") && !strings.Contains(string(page), n+"{") {
			t.Errorf("metric %s (defined in %s) is not in docs/metrics.md", n, code[n])
		}
	}
	mention := regexp.MustCompile(`caddy_login_guard_[a-z0-9_]+`)
	for _, file := range docFiles(t) {
		raw, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mention.FindAllString(string(raw), -1) {
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if strings.HasSuffix(m, suffix) && code[strings.TrimSuffix(m, suffix)] != "" {
					base = strings.TrimSuffix(m, suffix)
				}
			}
			if code[base] == "" {
				t.Errorf("%s names metric %s, which the code does not define", file, m)
			}
		}
	}
	t.Logf("%d metrics: %s", len(names), strings.Join(names, ", "))
}
