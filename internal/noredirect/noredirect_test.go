package noredirect

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClientFollowsNoRedirect: the copy answers with the 3xx itself,
// keeps the caller's settings, and leaves the caller's client alone.
func TestClientFollowsNoRedirect(t *testing.T) {
	reached := false
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	caller := &http.Client{Timeout: 3 * time.Second}
	for _, c := range []*http.Client{Client(caller), Client(nil)} {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || reached {
			t.Fatalf("status %d, redirect target reached %v", resp.StatusCode, reached)
		}
	}
	if c := Client(caller); c == caller || c.Timeout != caller.Timeout || caller.CheckRedirect != nil {
		t.Fatal("the copy must keep the caller's settings and leave its client as it was")
	}
}
