package loginid

import (
	"context"
	"errors"
	"testing"
)

// VerifyRegistration takes registration results only, with every other
// check Verify makes, and records them as used.
func TestVerifyRegistration(t *testing.T) {
	clock := newTestClock()
	k := newSigningKey(t, "k1")
	host := newKeyHost(t, k)
	v := newTestVerifier(t, testConfig(host, clock))

	reg := validClaims(clock.Now(), "reg-1")
	reg["type"] = "fido2_register"
	tok := k.mint(t, reg)
	if _, err := v.Verify(bg, tok, testUser, testClient); SubReason(err) != SubRegistration {
		t.Fatalf("Verify of a registration: %v, want %s", err, SubRegistration)
	}
	cl, err := v.VerifyRegistration(bg, tok, testUser, testClient)
	if err != nil || cl.Type != "fido2_register" || cl.User != testUser {
		t.Fatalf("VerifyRegistration: %+v, %v", cl, err)
	}
	wantSub(t, second(v.VerifyRegistration(bg, tok, testUser, testClient)), SubReplayed)

	login := k.mint(t, validClaims(clock.Now(), "login-1"))
	wantSub(t, second(v.VerifyRegistration(bg, login, testUser, testClient)), SubAuthentication)

	other := validClaims(clock.Now(), "reg-2")
	other["type"] = "fido2_register"
	wantSub(t, second(v.VerifyRegistration(bg, k.mint(t, other), "mallory", testClient)), SubWrongUser)

	aud := validClaims(clock.Now(), "reg-3")
	aud["type"], aud["aud"] = "fido2_register", "another-client"
	wantSub(t, second(v.VerifyRegistration(bg, k.mint(t, aud), testUser, testClient)), SubWrongAudience)

	ns := validClaims(clock.Now(), "reg-4")
	ns["type"], ns["nid"] = "fido2_register", "another-namespace"
	wantSub(t, second(v.VerifyRegistration(bg, k.mint(t, ns), testUser, testClient)), SubWrongNamespace)

	old := validClaims(clock.Now(), "reg-5")
	old["type"] = "fido2_register"
	stale := k.mint(t, old)
	clock.Advance(DefaultMaxAge + DefaultClockSkew + 1e9)
	wantSub(t, second(v.VerifyRegistration(bg, stale, testUser, testClient)), SubTooOld)

	forged := validClaims(clock.Now(), "reg-6")
	forged["type"] = "fido2_register"
	wantSub(t, second(v.VerifyRegistration(bg, newSigningKey(t, "k1").mint(t, forged), testUser, testClient)), SubBadSignature)
}

// Config.Enrolled decides, for authentication tokens only, after the
// other checks and before the replay cache.
func TestVerifyEnrolled(t *testing.T) {
	clock := newTestClock()
	k := newSigningKey(t, "k1")
	host := newKeyHost(t, k)
	cfg := testConfig(host, clock)
	enrolled := map[string]bool{}
	var down error
	var asked []string
	cfg.Enrolled = func(_ context.Context, user string) (bool, error) {
		asked = append(asked, user)
		return enrolled[user], down
	}
	v := newTestVerifier(t, cfg)

	tok := k.mint(t, validClaims(clock.Now(), "n-1"))
	_, err := v.Verify(bg, tok, testUser, testClient)
	var e *Error
	if !errors.As(err, &e) || e.Sub != SubNotEnrolled || e.Reason != ReasonNotEnrolled || e.Retryable() {
		t.Fatalf("not enrolled: %v", err)
	}
	if ReasonOf(err) != "assertion_not_enrolled" {
		t.Fatalf("reason %q", ReasonOf(err))
	}
	// Refused before the replay cache: the same token passes once the
	// user is enrolled.
	enrolled[testUser] = true
	if _, err := v.Verify(bg, tok, testUser, testClient); err != nil {
		t.Fatalf("enrolled: %v", err)
	}
	wantSub(t, second(v.Verify(bg, tok, testUser, testClient)), SubReplayed)

	down = errors.New("storage down")
	_, err = v.Verify(bg, k.mint(t, validClaims(clock.Now(), "n-2")), testUser, testClient)
	if !errors.As(err, &e) || e.Sub != SubEnrolmentUnavailable || !e.Retryable() {
		t.Fatalf("storage down: %v", err)
	}
	down = nil

	// A token refused for what it is never reaches the question.
	asked = nil
	wantSub(t, second(v.Verify(bg, tok, "mallory", testClient)), SubWrongUser)
	if len(asked) != 0 {
		t.Fatalf("asked %v for a token of another user", asked)
	}
	// Registrations are never asked about.
	enrolled[testUser] = false
	reg := validClaims(clock.Now(), "n-3")
	reg["type"] = "fido2_register"
	if _, err := v.VerifyRegistration(bg, k.mint(t, reg), testUser, testClient); err != nil || len(asked) != 0 {
		t.Fatalf("registration: %v, asked %v", err, asked)
	}
}

func second[T any](_ T, err error) error { return err }
