// Command build makes a custom Caddy binary from xcaddy.json with xcaddy's
// own Builder, so the manifest is the single description of the build:
//
//	go run ./examples/build -manifest xcaddy.json -o ./caddy
//
// The manifest is xcaddy's Builder type as JSON (caddy_version, plugins
// [{module_path, version}], replacements [{old, new}], build_flags, ...).
// A relative replacement path is taken relative to the manifest's folder.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/caddyserver/xcaddy"
)

func main() {
	manifest := flag.String("manifest", "xcaddy.json", "the build manifest")
	output := flag.String("o", "caddy", "the binary to write")
	flag.Parse()
	if err := build(*manifest, *output); err != nil {
		log.Fatal(err)
	}
}

func build(manifest, output string) error {
	raw, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	var b xcaddy.Builder
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return fmt.Errorf("%s: %w", manifest, err)
	}
	base, err := filepath.Abs(filepath.Dir(manifest))
	if err != nil {
		return err
	}
	for i, r := range b.Replacements {
		p := string(r.New)
		if strings.HasPrefix(p, ".") {
			b.Replacements[i].New = xcaddy.ReplacementPath(filepath.Join(base, p))
		}
	}
	if output, err = filepath.Abs(output); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return b.Build(ctx, output)
}
