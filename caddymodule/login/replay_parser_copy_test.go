package login

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestReplayLeavesNoCopyOfTheBody: what the replay hands the upstream as
// the held login's body yields the login to the upstream, and nothing
// once the replay is over (it is wiped: a late read fails), where it was
// the body parser's copy, still holding the password after the replay.
// The fields the guard read stay whole: they are not the wiped memory.
func TestReplayLeavesNoCopyOfTheBody(t *testing.T) {
	h, _, buf := replayHandler(t, &Handler{Name: "login", Event: EventLogin})
	cont := heldLogin(t, h)
	var handed io.Reader
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		handed = r.Body
		if b, err := io.ReadAll(r.Body); err != nil || string(b) != benchForm {
			t.Errorf("upstream read %q, %v", b, err)
		}
		return upstreamOK.ServeHTTP(w, r)
	})
	if st := continueLogin(h, cont, next); st != http.StatusSeeOther {
		t.Fatalf("replay: %d", st)
	}
	if s, ok := handed.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}
	late, err := io.ReadAll(handed)
	if bytes.Contains(late, []byte("secret")) {
		t.Fatalf("after the replay, the body handed upstream still reads %q", late)
	}
	if err == nil {
		t.Fatalf("a read after the replay got %q and no error", late)
	}
	if a := lastAudit(t, buf); !strings.Contains(a, `"action":"allow"`) || !strings.Contains(a, `"user":"jlopez"`) {
		t.Fatalf("audit line %s", a)
	}
}
