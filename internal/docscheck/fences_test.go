package docscheck

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// root is the repository root, seen from this package's directory.
const root = "../.."

// fence is one fenced code block of a Markdown file.
type fence struct {
	file string // relative to the repository root
	line int    // of the opening fence, 1-based
	lang string // first word of the info string, e.g. caddyfile
	kind string // second word, e.g. site or global; "" for none
	// section is the last level-2 heading above the fence ("" for none).
	section string
	body    string // the content, with the fence's indentation removed
}

func (f fence) where() string { return f.file + ":" + strconv.Itoa(f.line) }

// docFiles are README.md and every docs/*.md, relative to the root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range more {
		files = append(files, filepath.ToSlash(filepath.Join("docs", filepath.Base(m))))
	}
	sort.Strings(files[1:])
	return files
}

// readFences returns every fenced block of one Markdown file. A fence may
// be indented (inside a list item); its content loses that indentation.
func readFences(t *testing.T, file string) []fence {
	t.Helper()
	f, err := os.Open(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := parseFences(file, f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseFences(file string, r io.Reader) ([]fence, error) {
	var out []fence
	var cur *fence
	var indent string
	var lines []string
	section := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if cur == nil {
			if strings.HasPrefix(line, "## ") {
				section = strings.TrimSpace(strings.TrimPrefix(line, "## "))
			}
			if strings.HasPrefix(trimmed, "```") {
				info := strings.Fields(strings.TrimPrefix(trimmed, "```"))
				cur = &fence{file: file, line: n, section: section}
				if len(info) > 0 {
					cur.lang = info[0]
				}
				if len(info) > 1 {
					cur.kind = info[1]
				}
				indent = line[:len(line)-len(trimmed)]
				lines = nil
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			cur.body = strings.Join(lines, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
			continue
		}
		lines = append(lines, strings.TrimPrefix(line, indent))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: fence not closed", cur.where())
	}
	return out, nil
}

// allFences reads every fence of every documentation file.
func allFences(t *testing.T) []fence {
	var out []fence
	for _, f := range docFiles(t) {
		out = append(out, readFences(t, f)...)
	}
	return out
}

func TestReadFencesIndentedAndKinds(t *testing.T) {
	md := "text\n## Quick start\n1. item\n\n   ```caddyfile site\n   respond ok\n   ```\n```caddyfile\n:80 {\n}\n```\n"
	got, err := parseFences("x.md", strings.NewReader(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d fences, want 2", len(got))
	}
	if got[0].lang != "caddyfile" || got[0].kind != "site" || got[0].body != "respond ok\n" || got[0].line != 5 || got[0].section != "Quick start" {
		t.Errorf("first fence: %+v", got[0])
	}
	if got[1].kind != "" || got[1].body != ":80 {\n}\n" {
		t.Errorf("second fence: %+v", got[1])
	}
	if _, err := parseFences("x.md", strings.NewReader("```sh\nopen\n")); err == nil {
		t.Error("an unclosed fence was accepted")
	}
}
