package passkeys

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
	"github.com/login-guard/login_guard/internal/testkit/testkeys"
	"github.com/login-guard/login_guard/internal/tokens"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const (
	rpID   = "portal.example.com"
	origin = "https://portal.example.com"
)

type fakeClock = clock.Fake

type fixture struct {
	pk    *Passkeys
	store *memStore
	clk   *fakeClock
	keys  *tokens.Keyset
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	ks := testkeys.Keyset(t, t0)
	f := &fixture{store: newMemStore(), clk: clock.New(t0), keys: ks}
	f.pk = f.instance(t, mod)
	return f
}

// instance builds another wrapper over the same store, keys and clock,
// as a config reload or restart would.
func (f *fixture) instance(t testing.TB, mod func(*Config)) *Passkeys {
	t.Helper()
	cfg := Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "Portal", Tokens: f.keys, Now: f.clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	pk, err := New(cfg, f.store)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func cleanLogin(user string, at time.Time) SessionProof {
	return SessionProof{User: user, UpstreamAccepted: true, LoginAt: at}
}

// confirmed is a confirmation that user's account has just used one of
// its passkeys (what FinishConfirm gives), sealed with the fixture's keys.
func (f *fixture) confirmed(t testing.TB, user string) ConfirmProof {
	t.Helper()
	tok, err := f.keys.Seal(PurposeEnrolConfirm, confirmClaims{User: user}, f.clk.Now(), ConfirmTTL)
	if err != nil {
		t.Fatal(err)
	}
	return ConfirmProof{Token: tok}
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := ReasonOf(err); got != reason {
		t.Fatalf("reason = %q (err %v), want %q", got, err, reason)
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("%v does not wrap ErrRefused", err)
	}
}

func register(t *testing.T, pk *Passkeys, a *softAuthn, proofs ...Proof) Registered {
	t.Helper()
	ctx := context.Background()
	opts, id, err := pk.BeginRegistration(ctx, proofs...)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := pk.FinishRegistration(ctx, id, post(a.Create(opts)), proofs...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func login(t *testing.T, pk *Passkeys, a *softAuthn, user string, counter uint32) (LoginResult, error) {
	t.Helper()
	ctx := context.Background()
	opts, id, err := pk.BeginLogin(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return pk.FinishLogin(ctx, id, user, post(a.Get(opts, counter)))
}

func TestRegisterThenLoginEndToEnd(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	reg := register(t, f.pk, a, cleanLogin("alice", t0))
	if reg.User != "alice" || !bytes.Equal(reg.CredentialID, a.CredentialID) || reg.ViaToken {
		t.Fatalf("registered %+v", reg)
	}
	if len(a.Handle) != handleLen || bytes.Contains(a.Handle, []byte("alice")) {
		t.Fatalf("user handle %x is not opaque", a.Handle)
	}
	res, err := login(t, f.pk, a, "alice", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.CredentialID, a.CredentialID) || res.SignCount != 1 || !res.UserVerified || res.CloneWarning {
		t.Fatalf("login %+v", res)
	}
	if f.store.heldLocks() != 0 {
		t.Fatal("a storage lock was left held")
	}
}

func TestCreationOptionsWireFormat(t *testing.T) {
	f := newFixture(t, nil)
	opts, _, err := f.pk.BeginRegistration(context.Background(), cleanLogin("alice", t0))
	if err != nil {
		t.Fatal(err)
	}
	var o creationOptionsJSON
	viaJSON(t, opts, &o)
	pk := o.PublicKey
	if pk.RP.ID != rpID || pk.RP.Name != "Portal" || pk.User.Name != "alice" {
		t.Fatalf("options %+v", pk)
	}
	if id, err := b64.DecodeString(pk.User.ID); err != nil || len(id) != handleLen {
		t.Fatalf("user.id %q is not a base64url 32-byte handle", pk.User.ID)
	}
	if c, err := b64.DecodeString(pk.Challenge); err != nil || len(c) < 16 {
		t.Fatalf("challenge %q", pk.Challenge)
	}
	es256 := false
	for _, p := range pk.PubKeyCredParams {
		es256 = es256 || (p.Type == "public-key" && p.Alg == -7)
	}
	if !es256 || pk.AuthenticatorSelection.ResidentKey != "preferred" || pk.AuthenticatorSelection.UserVerification != "preferred" {
		t.Fatalf("options %+v", pk)
	}
}

func TestCredentialsSurviveNewInstance(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	if _, err := login(t, f.pk, a, "alice", 3); err != nil {
		t.Fatal(err)
	}
	again := f.instance(t, nil)
	if ok, err := again.HasCredentials(context.Background(), "alice"); !ok || err != nil {
		t.Fatalf("credentials lost: %v %v", ok, err)
	}
	// The sign count persisted too: 3 again is a regression.
	_, err := login(t, again, a, "alice", 3)
	wantReason(t, err, ReasonCloneWarning)
	_, err = login(t, again, a, "alice", 4)
	wantReason(t, err, ReasonCloneWarning) // marked until an admin removes it
}

func TestStorageLayout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UserKey = func(u string) string { return "pseudo-" + u[:1] } })
	register(t, f.pk, newSoftAuthn(t, origin), cleanLogin("alice", t0))
	keys := f.store.keys()
	if len(keys) != 1 || keys[0] != "login_guard/passkeys/users/pseudo-a.json" {
		t.Fatalf("keys %v", keys)
	}
	def := newFixture(t, nil)
	register(t, def.pk, newSoftAuthn(t, origin), cleanLogin("alice", t0))
	k := def.store.keys()[0]
	if strings.Contains(k, "alice") || !strings.HasPrefix(k, "login_guard/passkeys/users/") || !strings.HasSuffix(k, ".json") {
		t.Fatalf("key %s", k)
	}
	raw, _ := def.store.Load(context.Background(), k)
	if bytes.Contains(raw, []byte("alice")) {
		t.Fatal("stored record names the user")
	}
}

func TestSignCountAndClone(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	for _, n := range []uint32{5, 9} {
		res, err := login(t, f.pk, a, "alice", n)
		if err != nil || res.SignCount != n {
			t.Fatalf("count %d: %+v %v", n, res, err)
		}
	}
	_, err := login(t, f.pk, a, "alice", 7)
	wantReason(t, err, ReasonCloneWarning)
	rec, _, _ := f.pk.load(context.Background(), "alice")
	if !rec.Credentials[0].Authenticator.CloneWarning || rec.Credentials[0].Authenticator.SignCount != 9 {
		t.Fatalf("stored %+v", rec.Credentials[0].Authenticator)
	}
}

func TestCloneWarningAllowedWhenConfigured(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AllowCloneWarning = true })
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	if _, err := login(t, f.pk, a, "alice", 5); err != nil {
		t.Fatal(err)
	}
	res, err := login(t, f.pk, a, "alice", 5)
	if err != nil || !res.CloneWarning {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestZeroCountersAreNotClones(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	for i := 0; i < 2; i++ {
		if _, err := login(t, f.pk, a, "alice", 0); err != nil {
			t.Fatalf("synced passkey (counter 0) refused: %v", err)
		}
	}
}

func TestRemoveCredential(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	ctx := context.Background()
	if err := f.pk.RemoveCredential(ctx, "alice", a.CredentialID); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.pk.BeginLogin(ctx, "alice")
	wantReason(t, err, ReasonNoCredentials)
	if err := f.pk.RemoveCredential(ctx, "nobody", a.CredentialID); err != nil {
		t.Fatal(err)
	}
}
