package layout

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// maxPackageLines bounds a package's code (non-test, non-blank,
// non-comment lines): a package a newcomer can read in a sitting.
const maxPackageLines = 2500

// TestPackageSize: no package outgrows maxPackageLines.
func TestPackageSize(t *testing.T) {
	_, _, pkgs := loadModule(t)
	for _, dir := range sortedDirs(pkgs) {
		if n := codeLines(pkgs[dir].source); n > maxPackageLines {
			t.Errorf("%s has %d lines of code (at most %d): split it by role", dir, n, maxPackageLines)
		}
	}
}

func codeLines(src string) int {
	n, inBlock := 0, false
	for line := range strings.Lines(src) {
		l := strings.TrimSpace(line)
		switch {
		case inBlock:
			inBlock = !strings.Contains(l, "*/")
		case strings.HasPrefix(l, "/*"):
			inBlock = !strings.Contains(l, "*/")
		case l == "" || strings.HasPrefix(l, "//"):
		default:
			n++
		}
	}
	return n
}

var (
	docPath  = regexp.MustCompile("`([a-z0-9_./{},*-]+)`")
	docBrace = regexp.MustCompile(`^(.*)\{([^}]*)\}(.*)$`)
)

// TestLayoutDocMatchesTree: docs/design-layout.md names every package of
// the module (a brace group `a/{b,c}` or a glob `clients/*` counts for
// each package it matches), and every package it names exists.
func TestLayoutDocMatchesTree(t *testing.T) {
	root, _, pkgs := loadModule(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "design-layout.md"))
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, m := range docPath.FindAllStringSubmatch(string(doc), -1) {
		p := strings.TrimSuffix(m[1], "/")
		if strings.HasSuffix(p, ".go") || !strings.Contains(p+"/", "/") {
			continue
		}
		named = append(named, expandBraces(p)...)
	}
	covered := func(dir string) bool {
		for _, n := range named {
			if n == dir {
				return true
			}
			if ok, _ := path.Match(n, dir); ok && strings.Contains(n, "*") {
				return true
			}
		}
		return false
	}
	for _, dir := range sortedDirs(pkgs) {
		if !covered(dir) {
			t.Errorf("package %s is not in docs/design-layout.md", dir)
		}
	}
	for _, n := range named {
		if strings.Contains(n, "*") || !looksLikePackage(n) {
			continue
		}
		if _, ok := pkgs[n]; !ok {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(n))); err != nil {
				t.Errorf("docs/design-layout.md names %s, which does not exist", n)
			}
		}
	}
}

// looksLikePackage tells a package path from the other backticked words
// of the page (module ids, Caddyfile keywords, file names).
func looksLikePackage(p string) bool {
	for _, root := range []string{"caddymodule", "internal", "rules", "clients", "examples", "upstreamsig"} {
		if under(p, root) {
			return true
		}
	}
	return false
}

func expandBraces(p string) []string {
	m := docBrace.FindStringSubmatch(p)
	if m == nil {
		return []string{p}
	}
	var out []string
	for _, alt := range strings.Split(m[2], ",") {
		out = append(out, expandBraces(m[1]+alt+m[3])...)
	}
	return out
}
