//go:build browser

package pages_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/login-guard/login_guard/internal/pages"
)

// TestBrowserLoginIDEnrolmentAnswers: the answers of a LoginID
// enrolment, which the demo (it has no LoginID) cannot reach, in
// Chromium under the pages' CSP: their heading and message, no word of a
// passkey, and no serious accessibility violation.
func TestBrowserLoginIDEnrolmentAnswers(t *testing.T) {
	s, err := pages.New(pages.Options{PortalName: "Example Portal"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := pages.Answer{Code: pages.Code(strings.TrimPrefix(r.URL.Path, "/"))}
		if a.Code == pages.EnrolledLoginID {
			a.Next = "/account"
		}
		if err := s.Write(w, r, a); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	ctx := browser(t)
	for _, c := range []struct {
		code          pages.Code
		status        int
		heading, says string
	}{
		{pages.EnrolledLoginID, 200, "LoginID sign-in registered", "Your LoginID sign-in is ready."},
		{pages.EnrolLoginIDRegistered, 403, "LoginID is already set up", "already has a LoginID sign-in registered"},
	} {
		step, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(step, chromedp.Navigate(srv.URL+"/"+string(c.code)), heading(c.heading))
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.code, err, pageStatus(ctx))
		}
		type facts struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
			Text   string `json:"text"`
		}
		f, err := chromedp.Run(ctx, chromedp.Evaluate[facts](`({
			status: performance.getEntriesByType("navigation")[0].responseStatus,
			title: document.title,
			text: document.body.innerText,
		})`))
		if err != nil {
			t.Fatalf("%s: %v", c.code, err)
		}
		if f.Status != c.status || f.Title != c.heading+" · Example Portal" || !strings.Contains(f.Text, c.says) || strings.Contains(strings.ToLower(f.Text), "passkey") {
			t.Errorf("%s: status %d, title %q, text:\n%s", c.code, f.Status, f.Title, f.Text)
		}
		checkAxe(t, ctx, string(c.code))
	}
}
