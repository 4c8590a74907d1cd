//go:build browser

package pages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeScript is axe-core from npm: `npm ci` in testdata/axe installs the
// version package-lock.json pins.
const axeScript = "testdata/axe/node_modules/axe-core/axe.min.js"

// checkAxe runs axe-core on the page and fails on any serious or critical
// violation.
func checkAxe(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	src, err := os.ReadFile(axeScript)
	if err != nil {
		t.Fatalf("axe-core missing (run `npm ci` in internal/pages/testdata/axe): %v", err)
	}
	// Injected through the DevTools protocol, which the page's CSP does not
	// govern; the page itself still runs under its CSP.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
		t.Fatalf("%s: injecting axe: %v", name, err)
	}
	type violation struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
		r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe answer %q: %v", name, out, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: accessibility: %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			t.Logf("%s: accessibility (%s): %s: %s", name, v.Impact, v.ID, v.Help)
		}
	}
}

// Screenshot tolerance: a pixel differs when a channel is off by more
// than channelSlack; a page fails when more than maxDiffering of its
// pixels differ (anti-aliasing and a changing number of seconds stay
// well under it; a moved block, a lost style or another font do not).
const (
	channelSlack = 40
	maxDiffering = 0.01
)

// checkScreenshot compares the viewport with testdata/screenshots/<name>.png.
// LOGIN_GUARD_UPDATE_SCREENSHOTS=1 rewrites the references; a mismatch
// leaves the new picture next to the test's temp dir for a look.
func checkScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	ref := filepath.Join("testdata", "screenshots", name+".png")
	if os.Getenv("LOGIN_GUARD_UPDATE_SCREENSHOTS") != "" {
		if err := os.WriteFile(ref, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(ref)
	if err != nil {
		t.Fatalf("%s: no reference screenshot (LOGIN_GUARD_UPDATE_SCREENSHOTS=1 writes it): %v", name, err)
	}
	frac, err := differing(want, shot)
	if err != nil || frac > maxDiffering {
		got := filepath.Join(t.TempDir(), name+".png")
		if dir := os.Getenv("LOGIN_GUARD_SCREENSHOT_DIR"); dir != "" {
			got = filepath.Join(dir, name+".png")
		}
		_ = os.WriteFile(got, shot, 0o644)
		t.Errorf("%s: screenshot differs from %s (%.2f%% of pixels, %v); this run's is %s", name, ref, 100*frac, err, got)
	}
}

// differing is the fraction of pixels that differ beyond channelSlack.
func differing(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 1, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 1, err
	}
	r := ia.Bounds()
	if r != ib.Bounds() {
		return 1, errSize{r, ib.Bounds()}
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := ia.At(x, y).RGBA()
			r2, g2, b2, _ := ib.At(x, y).RGBA()
			if far(r1, r2) || far(g1, g2) || far(b1, b2) {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy()), nil
}

func far(a, b uint32) bool {
	a, b = a>>8, b>>8
	if a > b {
		return a-b > channelSlack
	}
	return b-a > channelSlack
}

type errSize struct{ want, got image.Rectangle }

func (e errSize) Error() string { return "size " + e.got.String() + ", want " + e.want.String() }
