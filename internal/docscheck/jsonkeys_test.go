package docscheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/caddyserver/caddy/v2"
)

// jsonKeys collects the JSON keys of a config type: struct fields by their
// json tag, embedded structs inlined, nested structs (also behind pointers,
// slices and maps) walked. Raw module objects (json.RawMessage) are the
// guest modules' own business and are walked from their own modules.
func jsonKeys(t reflect.Type, prefix string, out map[string]string, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t.PkgPath() == "time" {
		return
	}
	if t == reflect.TypeOf(json.RawMessage{}) {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name := strings.Split(tag, ",")[0]
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			jsonKeys(f.Type, prefix, out, seen)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = prefix + name
		jsonKeys(f.Type, prefix+name+".", out, seen)
	}
}

// TestEveryJSONKeyDocumented: every JSON key of every login_guard module
// (the app, the handler, the engines, ...) appears, quoted, in a ```json
// fence of the README or docs/.
func TestEveryJSONKeyDocumented(t *testing.T) {
	var ids []string
	for _, id := range caddy.Modules() {
		if strings.Contains(id, "login_guard") {
			ids = append(ids, id)
		}
	}
	for _, must := range []string{"login_guard", "http.handlers.login_guard", "login_guard.engines.forter"} {
		if !slices.Contains(ids, must) {
			t.Fatalf("module %s not registered (have %v)", must, ids)
		}
	}
	var jsonText strings.Builder
	for _, f := range allFences(t) {
		if f.lang == "json" {
			jsonText.WriteString(f.body)
		}
	}
	for _, id := range ids {
		info, err := caddy.GetModule(id)
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]string{}
		jsonKeys(reflect.TypeOf(info.New()), "", keys, map[reflect.Type]bool{})
		var names []string
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !strings.Contains(jsonText.String(), `"`+k+`"`) {
				t.Errorf("module %s: JSON key %s is in no ```json fence of the README or docs/", id, keys[k])
			}
		}
	}
}

// TestDocLinksResolve: every relative link in the README and docs/ points
// at a file of the repository (no ../shared/..., no pages that are gone).
func TestDocLinksResolve(t *testing.T) {
	for _, file := range docFiles(t) {
		raw, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, link := range relativeLinks(string(raw)) {
			target, frag, _ := strings.Cut(link, "#")
			rel := file
			if target != "" {
				rel = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(file), target)))
			}
			if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
				t.Errorf("%s links to %s, which the repository does not have", file, link)
				continue
			}
			if frag != "" && strings.HasSuffix(rel, ".md") && !headingSlugs(t, rel)[frag] {
				t.Errorf("%s links to %s, but %s has no heading with the anchor #%s", file, link, rel, frag)
			}
		}
	}
}

func relativeLinks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "](")[1:] {
		end := strings.IndexAny(part, ") ")
		if end < 0 {
			continue
		}
		target := part[:end]
		if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		out = append(out, target)
	}
	return out
}

// headingSlugs are the anchors GitHub gives a Markdown file's headings:
// lower case, spaces to hyphens, punctuation other than - and _ dropped.
func headingSlugs(t *testing.T, file string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	slugs := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slugs[b.String()] = true
	}
	return slugs
}
