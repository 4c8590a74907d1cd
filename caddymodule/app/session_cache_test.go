package app

import (
	"context"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

// TestSealedSessionServedFromCache: a session cookie the guard sealed is
// in the cache, with exactly what opening the token gives (session and
// expiry); a logout of it is then known without decryption, a tampered
// copy is not, and once revoked the cached entry is no session either.
func TestSealedSessionServedFromCache(t *testing.T) {
	ks := testkeys.Keyset(t, time.Now())
	a := Standalone(ks, time.Hour)
	defer func() { _ = a.Stop(); _ = a.Cleanup() }()
	now := time.Now()
	want := Session{User: "jlopez", Session: "s1", LoginAt: now.Unix(), Challenged: true}
	tok, _, err := a.AppendSealSession([]byte("login_guard="), want, now)
	if err != nil {
		t.Fatal(err)
	}
	token := string(tok[len("login_guard="):])
	hit, cachedExp, ok := a.rt.sessions.Get(ks, token, now)
	if !ok {
		t.Fatal("a sealed session is not in the cache")
	}
	cached := Session{User: hit.User, Session: hit.ID, LoginAt: hit.LoginAt, Challenged: hit.Challenged}
	var opened Session
	openedExp, err := ks.OpenUntil(sessionPurpose, token, now, &opened)
	if err != nil || cached != opened || cached != want || !cachedExp.Equal(openedExp) || hit != want.cached() {
		t.Fatalf("cached %+v until %v, opened %+v until %v (%v)", cached, cachedExp, opened, openedExp, err)
	}
	ctx := context.Background()
	if s, exp, ok := a.OpenEndingSession(ctx, token, now); !ok || s != want || !exp.Equal(openedExp) {
		t.Fatalf("logout: %+v %v %v", s, exp, ok)
	}
	tampered := []byte(token)
	tampered[len(tampered)-5] ^= 'A' ^ 'B'
	if _, _, ok := a.OpenEndingSession(ctx, string(tampered), now); ok {
		t.Fatal("a tampered token was taken as a session")
	}
	if err := a.RevokeSession(ctx, want.Session, openedExp, now); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := a.OpenSession(ctx, token, now); ok {
		t.Fatal("a revoked session served from the cache counts")
	}
}
