package passkeys

import (
	"context"
	"testing"
	"time"
)

func TestMayEnrollRule(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	token, err := f.pk.IssueEnrolToken("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bobToken, _ := f.pk.IssueEnrolToken("bob", time.Hour)
	other := newFixture(t, nil)
	foreign, _ := other.pk.IssueEnrolToken("alice", time.Hour)

	clean := cleanLogin("alice", t0.Add(-time.Minute))
	cases := []struct {
		name   string
		proofs []Proof
		user   string
		reason string
	}{
		{"clean accepted login", []Proof{clean}, "alice", ""},
		{"enrolment token", []Proof{EnrolTokenProof{Token: token}}, "alice", ""},
		{"session and token agree", []Proof{clean, EnrolTokenProof{Token: token}}, "alice", ""},
		{"step-up state", []Proof{StepUpProof{User: "alice"}}, "", ReasonEnrolDuringChallenge},
		{"step-up vetoes a clean session", []Proof{clean, StepUpProof{User: "alice"}}, "", ReasonEnrolDuringChallenge},
		{"step-up vetoes a token", []Proof{EnrolTokenProof{Token: token}, StepUpProof{}}, "", ReasonEnrolDuringChallenge},
		{"challenged login", []Proof{SessionProof{User: "alice", Challenged: true, UpstreamAccepted: true, LoginAt: t0}}, "", ReasonEnrolChallengedLogin},
		{"upstream did not accept", []Proof{SessionProof{User: "alice", LoginAt: t0}}, "", ReasonEnrolNotAccepted},
		{"old session", []Proof{cleanLogin("alice", t0.Add(-DefaultEnrolWindow-time.Second))}, "", ReasonEnrolStaleSession},
		{"session from the future", []Proof{cleanLogin("alice", t0.Add(time.Hour))}, "", ReasonEnrolStaleSession},
		{"session without user", []Proof{cleanLogin("", t0)}, "", ReasonEnrolNoProof},
		{"no proof", nil, "", ReasonEnrolNoProof},
		{"forged token", []Proof{EnrolTokenProof{Token: token[:len(token)-4] + "AAAA"}}, "", ReasonEnrolTokenInvalid},
		{"token from other keys", []Proof{EnrolTokenProof{Token: foreign}}, "", ReasonEnrolTokenInvalid},
		{"empty token", []Proof{EnrolTokenProof{}}, "", ReasonEnrolTokenInvalid},
		{"session for alice, token for bob", []Proof{clean, EnrolTokenProof{Token: bobToken}}, "", ReasonEnrolUserConflict},
		{"stale session but valid token", []Proof{cleanLogin("alice", t0.Add(-time.Hour)), EnrolTokenProof{Token: token}}, "alice", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user, err := f.pk.MayEnroll(ctx, c.proofs...)
			if c.reason == "" {
				if err != nil || user != c.user {
					t.Fatalf("got %q, %v", user, err)
				}
				return
			}
			wantReason(t, err, c.reason)
			if user != "" {
				t.Fatalf("refusal returned user %q", user)
			}
		})
	}
}

func TestEnrolRefusedDuringStepUp(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	_, _, err := f.pk.BeginRegistration(ctx, StepUpProof{User: "alice"})
	wantReason(t, err, ReasonEnrolDuringChallenge)
	if len(f.store.keys()) != 0 {
		t.Fatal("a refused enrolment wrote to storage")
	}
	// A ceremony begun with a clean session cannot be finished once a
	// step-up state rides along.
	a := newSoftAuthn(t, origin)
	opts, id, err := f.pk.BeginRegistration(ctx, cleanLogin("alice", t0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishRegistration(ctx, id, post(a.Create(opts)), cleanLogin("alice", t0), StepUpProof{User: "alice"})
	wantReason(t, err, ReasonEnrolDuringChallenge)
	if ok, _ := f.pk.HasCredentials(ctx, "alice"); ok {
		t.Fatal("passkey registered during a challenge")
	}
}

func TestEnrolCeremonyBoundToItsUser(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a := newSoftAuthn(t, origin)
	opts, id, err := f.pk.BeginRegistration(ctx, cleanLogin("alice", t0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishRegistration(ctx, id, post(a.Create(opts)), cleanLogin("mallory", t0))
	wantReason(t, err, ReasonCeremonyMismatch)
}

func TestEnrolTokenIsOneUse(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	token, err := f.pk.IssueEnrolToken("alice", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	proof := EnrolTokenProof{Token: token}
	// Two ceremonies begun with the same link: only the first finishes.
	a, b := newSoftAuthn(t, origin), newSoftAuthn(t, origin)
	optsA, idA, err := f.pk.BeginRegistration(ctx, proof)
	if err != nil {
		t.Fatal(err)
	}
	optsB, idB, err := f.pk.BeginRegistration(ctx, proof)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := f.pk.FinishRegistration(ctx, idA, post(a.Create(optsA)), proof)
	if err != nil || !reg.ViaToken || reg.User != "alice" {
		t.Fatalf("%+v %v", reg, err)
	}
	_, err = f.pk.FinishRegistration(ctx, idB, post(b.Create(optsB)), proof)
	wantReason(t, err, ReasonEnrolTokenSpent)
	_, err = f.pk.MayEnroll(ctx, proof)
	wantReason(t, err, ReasonEnrolTokenSpent)
	// Spent survives a new instance (it is in storage, not memory).
	_, err = f.instance(t, nil).MayEnroll(ctx, proof)
	wantReason(t, err, ReasonEnrolTokenSpent)
	// And the enrolled passkey works.
	if _, err := login(t, f.pk, a, "alice", 1); err != nil {
		t.Fatal(err)
	}
}

func TestEnrolTokenExpiresAndIsBounded(t *testing.T) {
	f := newFixture(t, nil)
	token, err := f.pk.IssueEnrolToken("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Hour)
	_, err = f.pk.MayEnroll(context.Background(), EnrolTokenProof{Token: token})
	wantReason(t, err, ReasonEnrolTokenInvalid)
	if _, err := f.pk.IssueEnrolToken("alice", MaxEnrolTokenTTL+time.Second); err == nil {
		t.Fatal("over-long enrolment token issued")
	}
	if _, err := f.pk.IssueEnrolToken("", time.Hour); err == nil {
		t.Fatal("enrolment token without a user issued")
	}
	noKeys := newFixture(t, func(c *Config) { c.Tokens = nil })
	if _, err := noKeys.pk.IssueEnrolToken("alice", time.Hour); err == nil {
		t.Fatal("token issued without keys")
	}
	_, err = noKeys.pk.MayEnroll(context.Background(), EnrolTokenProof{Token: token})
	wantReason(t, err, ReasonEnrolTokenInvalid)
}

func TestSpentTokenIdsArePruned(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	token, _ := f.pk.IssueEnrolToken("alice", time.Hour)
	register(t, f.pk, newSoftAuthn(t, origin), EnrolTokenProof{Token: token})
	rec, _, _ := f.pk.load(ctx, "alice")
	if len(rec.EnrolSpent) != 1 {
		t.Fatalf("spent %v", rec.EnrolSpent)
	}
	f.clk.Advance(MaxEnrolTokenTTL + time.Second)
	register(t, f.pk, newSoftAuthn(t, origin), cleanLogin("alice", f.clk.Now()), f.confirmed(t, "alice"))
	rec, _, _ = f.pk.load(ctx, "alice")
	if len(rec.EnrolSpent) != 0 || len(rec.Credentials) != 2 {
		t.Fatalf("record %+v", rec)
	}
}
