// Package layout holds the tests that keep the module's package layout
// honest (docs/design-layout.md): the Caddy-free packages stay free of
// Caddy, the route handlers never import each other, and the app imports
// nothing built on it. They read import lines only, so they are fast and
// run with every `go test ./...`.
package layout

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// caddyBound are the packages under rules/, clients/ and internal/ that may
// use Caddy, each for a reason; every other package there must not, not
// even through another package of this module.
var caddyBound = map[string]string{
	"internal/request":           "the request-level pieces both route handlers share (Caddy's client IP, errors, replacer)",
	"internal/caddyopt":          "reads Caddyfile options for the app, the handlers and the engine guests",
	"internal/testkit/caddyproc": "starts Caddy processes for tests",
	"internal/testkit/caddytest": "starts Caddy in-process for tests",
}

// caddyFreeRoots are the trees that hold Caddy-free code.
var caddyFreeRoots = []string{"rules", "clients", "internal"}

type pkg struct {
	dir     string   // relative to the module root, slash-separated
	imports []string // module-relative dirs of this module's packages, or full external paths
	source  string   // all non-test source, for module ids
}

func loadModule(t *testing.T) (root, modPath string, pkgs map[string]*pkg) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "module "); ok {
			modPath = strings.TrimSpace(p)
			break
		}
	}
	f.Close()
	if modPath == "" {
		t.Fatal("no module line in go.mod")
	}
	pkgs = map[string]*pkg{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		file, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		dir := filepath.ToSlash(rel)
		pk := pkgs[dir]
		if pk == nil {
			pk = &pkg{dir: dir}
			pkgs[dir] = pk
		}
		pk.source += string(src)
		for _, imp := range file.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip == modPath {
				ip = "."
			} else if r, ok := strings.CutPrefix(ip, modPath+"/"); ok {
				ip = r
			}
			if !slices.Contains(pk.imports, ip) {
				pk.imports = append(pk.imports, ip)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, modPath, pkgs
}

// reaches returns the chain of imports by which from reaches a package
// that match accepts, or nil.
func reaches(pkgs map[string]*pkg, from string, match func(string) bool) []string {
	seen := map[string]bool{}
	var walk func(dir string, chain []string) []string
	walk = func(dir string, chain []string) []string {
		p := pkgs[dir]
		if p == nil || seen[dir] {
			return nil
		}
		seen[dir] = true
		for _, imp := range p.imports {
			next := append(slices.Clone(chain), imp)
			if match(imp) {
				return next
			}
			if c := walk(imp, next); c != nil {
				return c
			}
		}
		return nil
	}
	return walk(from, []string{from})
}

func isCaddy(imp string) bool { return strings.HasPrefix(imp, "github.com/caddyserver/") }

func under(dir, root string) bool { return dir == root || strings.HasPrefix(dir, root+"/") }

func sortedDirs(pkgs map[string]*pkg) []string {
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// TestCaddyFreePackages: rules/, clients/ and internal/ (but the packages
// listed in caddyBound) import no Caddy package, directly or through
// another package of this module.
func TestCaddyFreePackages(t *testing.T) {
	_, _, pkgs := loadModule(t)
	checked := 0
	for _, dir := range sortedDirs(pkgs) {
		free := false
		for _, r := range caddyFreeRoots {
			free = free || under(dir, r)
		}
		if !free {
			continue
		}
		if _, ok := caddyBound[dir]; ok {
			continue
		}
		checked++
		if chain := reaches(pkgs, dir, isCaddy); chain != nil {
			t.Errorf("%s must not use Caddy, but imports it: %s", dir, strings.Join(chain, " -> "))
		}
	}
	if checked < 5 {
		t.Fatalf("only %d Caddy-free packages found: is the module root right?", checked)
	}
}
