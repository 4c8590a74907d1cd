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
var tableBlock = regexp.MustCompile(`(?s)<!-- loadbench-table (\S+) -->\n(.*?)<!-- /loadbench-table -->`)

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
			r, err := readResults(filepath.Join(root, m[1]))
			if err != nil {
				t.Errorf("%s: %v", page, err)
				continue
			}
			if want := markdownTable(r); strings.TrimSpace(m[2]) != strings.TrimSpace(want) {
				t.Errorf("%s: the table of %s is not what `go run ./examples/loadbench -table %s` renders:\n%s", page, m[1], m[1], want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no loadbench-table block in the README or docs")
	}
}
