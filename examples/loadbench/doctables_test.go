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
