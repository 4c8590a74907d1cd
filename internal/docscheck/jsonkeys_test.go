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
		for _, target := range relativeLinks(string(raw)) {
			p := filepath.Join(root, filepath.Dir(file), target)
			if _, err := os.Stat(p); err != nil {
				if arrivingAtMerge[filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(file), target)))] {
					continue
				}
				t.Errorf("%s links to %s, which the repository does not have", file, target)
			}
		}
	}
}

// arrivingAtMerge are the pages written on parallel branches that the
// table of contents already links; delete each entry once its page is
// merged, so a missing page fails again.
var arrivingAtMerge = map[string]bool{
	"docs/body-policy.md":       true,
	"docs/operations-faults.md": true,
	"docs/performance.md":       true,
	"docs/pages.md":             true,
	"docs/redis.md":             true,
}

func relativeLinks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "](")[1:] {
		end := strings.IndexAny(part, ") ")
		if end < 0 {
			continue
		}
		target := part[:end]
		if i := strings.Index(target, "#"); i >= 0 {
			target = target[:i]
		}
		if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		out = append(out, target)
	}
	return out
}
