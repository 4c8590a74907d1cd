// Package browser starts the headless Chromium the browser suites (build
// tag browser) drive: one launcher and one virtual authenticator for every
// test that signs in with a passkey in a real browser.
package browser

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser
// (CI installs it from .ci/packages.d/browser.txt).
const ChromiumPath = "/usr/bin/chromium"

// Require skips the test when Chromium is not installed, except in CI,
// where it fails: call it before setting up what only a browser needs.
func Require(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed (CI installs it from .ci/packages.d/browser.txt; locally: apt-get install chromium)", ChromiumPath)
		}
		t.Fatalf("CI must have %s: %v", ChromiumPath, err)
	}
}

// Start runs headless Chromium for the test, with a virtual platform
// authenticator (resident keys, user verification, presence simulated)
// and a bound on the whole session; everything stops when the test ends.
// Without Chromium the test is skipped, except in CI, where it fails.
// flags are further command-line options (a host-resolver rule, say).
func Start(t *testing.T, timeout time.Duration, flags ...chromedp.ExecAllocatorOption) (context.Context, webauthn.AuthenticatorID) {
	t.Helper()
	Require(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Stable rendering, so screenshots compare across machines.
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	}, flags...)...,
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.AddVirtualAuthenticatorResult, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return webauthn.AddVirtualAuthenticatorResult{}, err
		}
		return cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
	})
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
	return ctx, res.AuthenticatorID
}
