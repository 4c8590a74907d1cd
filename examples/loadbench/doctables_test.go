package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tableBlock is a results table in a page: the file it is rendered from,
// then the table, between two comments the Markdown does not show.
var tableBlock = regexp.MustCompile(`(?s)<!-- loadbench-(table|summary) (\S+) -->\n(.*?)<!-- /loadbench-(?:table|summary) -->`)

// TestDocTablesRegenerated: every load benchmark table in the README and
// the docs is exactly what -table renders from the results file it names,
// so a table can only change by rerunning the benchmark (or -table).
func TestDocTablesRegenerated(t *testing.T) {
	root := filepath.Join("..", "..")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	found := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tableBlock.FindAllStringSubmatch(string(b), -1) {
			found++
			kind, file, got := m[1], m[2], m[3]
			r, err := readResults(filepath.Join(root, file))
			if err != nil {
				t.Errorf("%s: %v", page, err)
				continue
			}
			render := markdownTable
			if kind == "summary" {
				render = markdownSummary
			}
			if want := render(r); strings.TrimSpace(got) != strings.TrimSpace(want) {
				t.Errorf("%s: the %s of %s is not what `go run ./examples/loadbench -%s %s` renders:\n%s", page, kind, file, kind, file, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no loadbench-table block in the README or docs")
	}
}

// resultsName is a results file named in a page's prose, brace lists
// included (docs/loadbench/redis-settle-{before,after}-{1,2}.json).
var resultsName = regexp.MustCompile(`docs/loadbench/[a-z0-9{},-]+\.json`)

// TestDocResultsFilesNamed: every results file a page names is in
// docs/loadbench/, and every file there is named by a page, so a figure
// quoted in prose can be traced to its run and no run is left unexplained.
func TestDocResultsFilesNamed(t *testing.T) {
	root := filepath.Join("..", "..")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	named := map[string]bool{}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resultsName.FindAllString(string(b), -1) {
			for _, name := range expandBraces(m) {
				named[name] = true
				if _, err := os.Stat(filepath.Join(root, name)); err != nil {
					t.Errorf("%s names %s, which is not in the repository", page, name)
				}
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "loadbench", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no results files in docs/loadbench")
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		if !named[filepath.ToSlash(rel)] {
			t.Errorf("%s is named by no page: say what it measured, or remove it", rel)
		}
	}
}

// expandBraces expands each {a,b} list of s, left to right.
func expandBraces(s string) []string {
	open := strings.IndexByte(s, '{')
	end := strings.IndexByte(s, '}')
	if open < 0 || end < open {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[open+1:end], ",") {
		out = append(out, expandBraces(s[:open]+alt+s[end+1:])...)
	}
	return out
}
