package request

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
)

// standsStore answers every Load with load (a record, or an error), or
// hangs until its caller gives up.
type standsStore struct {
	load []byte
	err  error
	hang bool
}

func (s standsStore) Load(ctx context.Context, _ string) ([]byte, error) {
	if s.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.load, s.err
}
func (standsStore) Store(context.Context, string, []byte) error { return errors.New("read only") }
func (standsStore) Lock(context.Context, string) error          { return nil }
func (standsStore) Unlock(context.Context, string) error        { return nil }

// TestPasskeyStands: the check the login route runs as it spends a
// continuation or pass maps the passkey store's answer to the step-up
// refusal (spent, or unspent when the storage did not answer), and leaves
// a token naming no passkey alone. (That an enrolled passkey stands, and
// a removed one does not, runs through a real Caddy:
// TestRemovedPasskeyStopsItsContinuation.)
func TestPasskeyStands(t *testing.T) {
	h := &Route{Name: "login", Logger: zap.NewNop()}
	ctx := context.Background()
	named := stepup.State{User: "alice", Passkey: passkeys.CredentialDigest([]byte("credential"))}
	instance := func(s passkeys.Store) *passkeys.Passkeys {
		pk, err := passkeys.New(passkeys.Config{RPID: "example.com", RPOrigins: []string{"https://example.com"}, RPDisplayName: "P", StorageTimeout: 20 * time.Millisecond}, s)
		if err != nil {
			t.Fatal(err)
		}
		return pk
	}
	none := instance(standsStore{err: fs.ErrNotExist})

	if err := h.PasskeyStands(ctx, none)(stepup.State{User: "alice"}); err != nil {
		t.Fatalf("a token naming no passkey: %v", err)
	}
	if err := h.PasskeyStands(ctx, nil)(stepup.State{User: "alice"}); err != nil {
		t.Fatalf("a token naming no passkey, no passkeys configured: %v", err)
	}
	cases := []struct {
		name   string
		pk     *passkeys.Passkeys
		reason string
	}{
		{"no passkey stored", none, stepup.ReasonPasskeyRemoved},
		{"no passkeys configured", nil, stepup.ReasonPasskeyUnavailable},
		{"storage down", instance(standsStore{hang: true}), stepup.ReasonPasskeyStorageUnavailable},
	}
	for _, c := range cases {
		err := h.PasskeyStands(ctx, c.pk)(named)
		if stepup.ReasonOf(err) != c.reason {
			t.Errorf("%s: %v, want %s", c.name, err, c.reason)
		}
		if stepup.Unspent(err) != (c.reason == stepup.ReasonPasskeyStorageUnavailable) {
			t.Errorf("%s: unspent %v", c.name, stepup.Unspent(err))
		}
	}
	if err := h.PasskeyStands(ctx, instance(standsStore{load: []byte("{")}))(named); err == nil || stepup.ReasonOf(err) != "" {
		t.Errorf("a record that does not decode: %v, want the error itself", err)
	}
}

// TestPasskeyStorageDownAnswer: a continuation or pass refused because the
// passkey storage did not answer is told as the shared store's outage is:
// 503 with Retry-After, its cookie kept; a removed passkey's is a 403
// step_up_failed and its cookie goes.
func TestPasskeyStorageDownAnswer(t *testing.T) {
	down := stepup.Refused(stepup.ReasonPasskeyStorageUnavailable)
	hdr := http.Header{}
	if a := StepUpAnswer(hdr, RefusalReason("step_up_", down)); a.Code != pages.Unavailable || hdr.Get("Retry-After") != StoreRetryAfter {
		t.Fatalf("storage down: %v, Retry-After %q", a.Code, hdr.Get("Retry-After"))
	}
	hdr = http.Header{}
	removed := stepup.Refused(stepup.ReasonPasskeyRemoved)
	if a := StepUpAnswer(hdr, RefusalReason("step_up_", removed)); a.Code != pages.StepUpFailed || a.Code.Status() != http.StatusForbidden || hdr.Get("Retry-After") != "" {
		t.Fatalf("removed: %v, Retry-After %q", a.Code, hdr.Get("Retry-After"))
	}
	r := httptest.NewRequest(http.MethodPost, "https://example.com/api/login", nil)
	for err, kept := range map[error]bool{down: true, removed: false} {
		hdr := http.Header{}
		ClearUsedStepCookie(hdr, r, CookieContinue, "", err)
		if (len(hdr.Values("Set-Cookie")) == 0) != kept {
			t.Errorf("%v: Set-Cookie %q", err, hdr.Values("Set-Cookie"))
		}
	}
}
