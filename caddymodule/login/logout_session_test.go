package login

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/request"
)

// TestLogoutOfTheSessionALoginSealed: a login's session cookie, presented
// to the logout route of the same guard (served from the session cache the
// seal filled), is a known session: the logout clears it and ends it, so a
// replay of the cookie is no session. A tampered copy is never taken as
// the session, before or after.
func TestLogoutOfTheSessionALoginSealed(t *testing.T) {
	a := testApp(t)
	defer func() { _ = a.Stop(); _ = a.Cleanup() }()
	login, logout := &Handler{Name: "login", Event: EventLogin}, &Handler{Name: "logout", Event: EventLogout}
	for _, h := range []*Handler{login, logout} {
		if err := h.provision(a, zap.NewNop()); err != nil {
			t.Fatal(err)
		}
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	w := newBenchWriter()
	lr := newBenchRequest(http.MethodPost, "/api/login", formType, benchForm, benchIP)
	if err := login.ServeHTTP(w.reset(), lr.next(), upstreamOK); err != nil || len(w.h["Set-Cookie"]) != 1 {
		t.Fatal("the login issued no session cookie", err, w.h)
	}
	cookie, _, _ := strings.Cut(w.h["Set-Cookie"][0], ";")
	if !strings.HasPrefix(cookie, request.PlainSessionCookie+"=") {
		t.Fatalf("cookie %q", cookie)
	}
	tampered := []byte(cookie)
	if tampered[len(tampered)-5] == 'A' {
		tampered[len(tampered)-5] = 'B'
	} else {
		tampered[len(tampered)-5] = 'A'
	}
	logoutWith := func(c string) (known bool) {
		t.Helper()
		r := newBenchRequest(http.MethodPost, "/api/logout", "", "", benchIP)
		r.cookie = c
		if err := logout.ServeHTTP(w.reset(), r.next(), upstreamOK); err != nil || w.code != http.StatusSeeOther {
			t.Fatal(err, w.code)
		}
		return len(w.h["Set-Cookie"]) == 1
	}
	if logoutWith(string(tampered)) {
		t.Fatal("a tampered session cookie was taken as the session")
	}
	if !logoutWith(cookie) {
		t.Fatal("the session the login sealed is not known to the logout")
	}
	if logoutWith(cookie) {
		t.Fatal("a replayed cookie of a logged-out session was taken as a session")
	}
	if logoutWith(string(tampered)) {
		t.Fatal("a tampered session cookie was taken as the session")
	}
}
