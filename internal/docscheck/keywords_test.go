package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// A Caddyfile keyword is found by asking the parsers, not by keeping a
// list: every identifier-like string literal in the module's Go source is a
// candidate, and a candidate is a keyword of a block when that block's
// parser does not answer `unknown ... "<candidate>"` to it. Blocks are
// found the same way: a keyword is a block when its parser rejects a probe
// option inside it as unknown.

const probe = "docscheck_probe_option"

// scope is one Caddyfile block whose options can be probed.
type scope struct {
	path string                   // e.g. global/smartid
	wrap func(line string) string // a whole Caddyfile with line inside the block
}

func globalScope() scope {
	return scope{"global/login_guard", func(line string) string {
		return "{\n\tlogin_guard {\n\t\t" + line + "\n\t}\n}\n:8080 {\n\trespond ok\n}\n"
	}}
}

func handlerScope() scope {
	return scope{"site/login_guard", func(line string) string {
		return ":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\t" + line + "\n\t}\n}\n"
	}}
}

// stepUpScope is the directive on a step-up route, whose options may be
// parsed apart from a login route's.
func stepUpScope() scope {
	return scope{"site/login_guard(event step_up)", func(line string) string {
		return ":8080 {\n\tlogin_guard {\n\t\tevent step_up\n\t\t" + line + "\n\t}\n}\n"
	}}
}

// adaptErr adapts a Caddyfile (no validation: only the parsers speak).
func adaptErr(config string) error {
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(config), map[string]any{"filename": "Caddyfile"})
	return err
}

// rejectsAsUnknown reports whether the parser refused word as unknown.
func rejectsAsUnknown(err error, word string) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown") && strings.Contains(err.Error(), strconv.Quote(word))
}

// nested returns the scopes of keyword's blocks inside s, if keyword opens
// a block: with no argument, with a name (`http <name> { ... }`), or with a
// kind among words (`store redis { ... }`, found when the parser quotes an
// argument it refuses).
func (s scope) nested(keyword string, words []string) []scope {
	inner := func(head string) func(string) string {
		return func(line string) string { return s.wrap(head + " {\n\t\t\t" + line + "\n\t\t}") }
	}
	for _, head := range []string{keyword, keyword + " docscheck_name"} {
		if w := inner(head); rejectsAsUnknown(adaptErr(w(probe+" 1")), probe) {
			return []scope{{s.path + "/" + keyword, w}}
		}
	}
	err := adaptErr(inner(keyword + " docscheck_name")(probe + " 1"))
	if err == nil || !strings.Contains(err.Error(), strconv.Quote("docscheck_name")) {
		return nil
	}
	var out []scope
	for _, kind := range words {
		if w := inner(keyword + " " + kind); rejectsAsUnknown(adaptErr(w(probe+" 1")), probe) {
			out = append(out, scope{s.path + "/" + keyword + " " + kind, w})
		}
	}
	return out
}

// candidates are the identifier-like string literals of the non-test Go
// files in every package that parses Caddyfiles (one of its files imports
// caddyfile or httpcaddyfile): every keyword a parser compares with is
// among them.
func candidates(t *testing.T) []string {
	t.Helper()
	word := regexp.MustCompile(`^[a-z][A-Za-z0-9_.]*[A-Za-z0-9]$`)
	perDir := map[string]map[string]bool{} // directory → literals
	parsesCaddyfiles := map[string]bool{}  // directory → a file imports the Caddyfile packages
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
		dir := filepath.Dir(path)
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/caddyconfig/caddyfile") || strings.HasSuffix(p, "/caddyconfig/httpcaddyfile") {
				parsesCaddyfiles[dir] = true
			}
		}
		if perDir[dir] == nil {
			perDir[dir] = map[string]bool{}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && len(s) <= 40 && word.MatchString(s) {
					perDir[dir][s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for dir := range parsesCaddyfiles {
		for s := range perDir[dir] {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// keywords maps each block's path to the keywords its parser accepts.
func keywords(t *testing.T) map[string][]string {
	t.Helper()
	words := candidates(t)
	out := map[string][]string{}
	queue := []scope{globalScope(), handlerScope(), stepUpScope()}
	seen := map[string]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.path] {
			continue
		}
		seen[s.path] = true
		if !rejectsAsUnknown(adaptErr(s.wrap(probe+" 1")), probe) {
			t.Fatalf("%s: the parser does not refuse an unknown option as unknown; the probe cannot work", s.path)
		}
		for _, w := range words {
			if rejectsAsUnknown(adaptErr(s.wrap(w+" 1")), w) {
				continue
			}
			out[s.path] = append(out[s.path], w)
			if strings.Count(s.path, "/") < 3 {
				queue = append(queue, s.nested(w, words)...)
			}
		}
	}
	return out
}

// documentedWords are the first words of the lines of every fenced block
// (Caddyfile examples and ```text syntax summaries) in the README and docs.
func documentedWords(t *testing.T) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, f := range allFences(t) {
		for _, line := range strings.Split(f.body, "\n") {
			if fields := strings.Fields(line); len(fields) > 0 {
				set[fields[0]] = true
			}
		}
	}
	return set
}

// TestEveryCaddyfileKeywordDocumented fails when the parsers accept a
// keyword that no fenced block of the README or docs/ shows as a line.
func TestEveryCaddyfileKeywordDocumented(t *testing.T) {
	kw := keywords(t)
	for _, must := range []string{"global/login_guard", "site/login_guard", "global/login_guard/smartid", "site/login_guard/success"} {
		if len(kw[must]) == 0 {
			t.Fatalf("found no keywords in %s: the probe is broken (found %v)", must, kw)
		}
	}
	docs := documentedWords(t)
	var paths []string
	for p := range kw {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	total := 0
	for _, p := range paths {
		for _, w := range kw[p] {
			total++
			if !docs[w] {
				t.Errorf("%s: keyword %q is accepted by the parser but shown in no fenced block of the README or docs/", p, w)
			}
		}
	}
	t.Logf("%d keywords in %d blocks (from %d candidates)", total, len(paths), len(candidates(t)))
	for _, p := range paths {
		t.Logf("%s: %s", p, strings.Join(kw[p], " "))
	}
}

func TestKeywordProbeFindsKnownAndRejectsJunk(t *testing.T) {
	h := handlerScope()
	if rejectsAsUnknown(adaptErr(h.wrap("max_body 1")), "max_body") {
		t.Error("max_body reported unknown")
	}
	if !rejectsAsUnknown(adaptErr(h.wrap("maxbody 1")), "maxbody") {
		t.Error("maxbody not reported unknown")
	}
	if len(h.nested("success", nil)) != 1 {
		t.Error("success not found to be a block")
	}
	if len(h.nested("max_body", nil)) != 0 {
		t.Error("max_body taken for a block")
	}
	if g := globalScope(); len(g.nested("http", nil)) != 1 {
		t.Error("http <name> { ... } not found to be a block")
	}
}
