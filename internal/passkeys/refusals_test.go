package passkeys

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	bob := newSoftAuthn(t, origin)
	register(t, f.pk, bob, cleanLogin("bob", t0))
	ctx := context.Background()

	tamper := func(body []byte, field string) []byte {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		resp := m["response"].(map[string]any)
		raw, _ := b64.DecodeString(resp[field].(string))
		raw[len(raw)-1] ^= 1
		resp[field] = b64.EncodeToString(raw)
		return mustJSON(t, m)
	}

	cases := []struct {
		name   string
		run    func() error
		reason string
	}{
		{"bad signature", func() error {
			opts, id, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "alice", tamper(a.Get(opts, 1), "signature"))
		}, ReasonInvalidResponse},
		{"altered authenticator data", func() error {
			opts, id, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "alice", tamper(a.Get(opts, 1), "authenticatorData"))
		}, ReasonInvalidResponse},
		{"other origin", func() error {
			evil := *a
			evil.Origin = "https://evil.example"
			opts, id, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "alice", evil.Get(opts, 1))
		}, ReasonInvalidResponse},
		{"other challenge", func() error {
			opts1, _, _ := f.pk.BeginLogin(ctx, "alice")
			_, id2, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id2, "alice", a.Get(opts1, 1))
		}, ReasonInvalidResponse},
		{"ceremony for another user", func() error {
			opts, id, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "bob", a.Get(opts, 1))
		}, ReasonCeremonyMismatch},
		{"unknown ceremony", func() error {
			return finish(f, "nope", "alice", []byte("{}"))
		}, ReasonCeremonyUnknown},
		{"registration ceremony used for login", func() error {
			_, id, _ := f.pk.BeginRegistration(ctx, cleanLogin("alice", t0), f.confirmed(t, "alice"))
			opts, _, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "alice", a.Get(opts, 1))
		}, ReasonCeremonyMismatch},
		{"malformed body", func() error {
			_, id, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "alice", []byte(`{"id":`))
		}, ReasonMalformed},
		{"oversized body", func() error {
			_, id, _ := f.pk.BeginLogin(ctx, "alice")
			return finish(f, id, "alice", bytes.Repeat([]byte(" "), DefaultMaxBodyBytes+1))
		}, ReasonBodyTooLarge},
		{"no credentials", func() error {
			_, _, err := f.pk.BeginLogin(ctx, "carol")
			return err
		}, ReasonNoCredentials},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			wantReason(t, err, c.reason)
			if strings.Contains(err.Error(), "challenge\":") {
				t.Fatalf("error echoes ceremony data: %v", err)
			}
		})
	}
	// None of the refused attempts moved alice's stored sign count.
	if res, err := login(t, f.pk, a, "alice", 1); err != nil || res.SignCount != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

// An assertion by bob's authenticator cannot pass alice's login, even when
// bob controls the body.
func TestOtherUsersCredentialRefused(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	bob := newSoftAuthn(t, origin)
	register(t, f.pk, bob, cleanLogin("bob", t0))
	ctx := context.Background()
	opts, id, _ := f.pk.BeginLogin(ctx, "alice")
	// bob's authenticator pretends alice's options allowed it.
	opts.Response.AllowedCredentials[0].CredentialID = bob.CredentialID
	err := finish(f, id, "alice", bob.Get(opts, 1))
	wantReason(t, err, ReasonInvalidResponse)
}

func TestCeremonyIsOneUseAndExpires(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	ctx := context.Background()
	opts, id, _ := f.pk.BeginLogin(ctx, "alice")
	body := a.Get(opts, 1)
	if err := finish(f, id, "alice", body); err != nil {
		t.Fatal(err)
	}
	wantReason(t, finish(f, id, "alice", body), ReasonCeremonyUnknown)

	opts, id, _ = f.pk.BeginLogin(ctx, "alice")
	f.clk.Advance(DefaultCeremonyTTL)
	wantReason(t, finish(f, id, "alice", a.Get(opts, 2)), ReasonCeremonyUnknown)
	if s := f.pk.Stats(); s.Expired != 1 || s.Ceremonies != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCeremoniesBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxCeremonies = 3; c.MaxCeremoniesPerClient = 2 })
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	flood := WithClient(context.Background(), "203.0.113.9/32")
	victim := WithClient(context.Background(), "198.51.100.7/32")
	opts1, id1, err := f.pk.BeginLogin(victim, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := f.pk.BeginLogin(flood, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	// The flooding client is at its share; the map is full too.
	_, _, err = f.pk.BeginLogin(flood, "alice")
	wantReason(t, err, ReasonBusy)
	_, _, err = f.pk.BeginLogin(context.Background(), "alice")
	wantReason(t, err, ReasonBusy)
	if s := f.pk.Stats(); s.Ceremonies != 3 || s.Refused != 2 {
		t.Fatalf("stats %+v", s)
	}
	// Nobody's ceremony was dropped: the victim finishes.
	if err := finish(f, id1, "alice", a.Get(opts1, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestRegistrationLimits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxCredentials = 1 })
	a := newSoftAuthn(t, origin)
	proof := cleanLogin("alice", t0)
	register(t, f.pk, a, proof)
	_, _, err := f.pk.BeginRegistration(context.Background(), proof, f.confirmed(t, "alice"))
	wantReason(t, err, ReasonTooManyCredentials)

	g := newFixture(t, nil)
	b := newSoftAuthn(t, origin)
	register(t, g.pk, b, proof)
	// The same authenticator again: the browser would honour the exclusion
	// list; a hostile client that ignores it is refused at Finish.
	ctx := context.Background()
	confirmed := g.confirmed(t, "alice")
	opts, id, err := g.pk.BeginRegistration(ctx, proof, confirmed)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Response.CredentialExcludeList) != 1 || !bytes.Equal(opts.Response.CredentialExcludeList[0].CredentialID, b.CredentialID) {
		t.Fatalf("exclusions %+v", opts.Response.CredentialExcludeList)
	}
	opts.Response.CredentialExcludeList = nil
	_, err = g.pk.FinishRegistration(ctx, id, post(b.Create(opts)), proof, confirmed)
	wantReason(t, err, ReasonDuplicateCredential)
}

func TestRegistrationRefusesForgedAttestation(t *testing.T) {
	f := newFixture(t, nil)
	a := newSoftAuthn(t, origin)
	ctx := context.Background()
	proof := cleanLogin("alice", t0)
	opts, id, _ := f.pk.BeginRegistration(ctx, proof)
	evil := *a
	evil.Origin = "https://evil.example"
	_, err := f.pk.FinishRegistration(ctx, id, post(evil.Create(opts)), proof)
	wantReason(t, err, ReasonInvalidResponse)
	if ok, _ := f.pk.HasCredentials(ctx, "alice"); ok {
		t.Fatal("credential stored after a refused registration")
	}
}

func finish(f *fixture, id, user string, body []byte) error {
	_, err := f.pk.FinishLogin(context.Background(), id, user, post(body))
	return err
}

func TestNewValidates(t *testing.T) {
	st := newMemStore()
	for _, c := range []Config{
		{},
		{RPID: rpID, RPDisplayName: "P"},
		{RPID: rpID, RPOrigins: []string{origin}},
		{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "P", UserVerification: "sometimes"},
		{RPID: "https://bad", RPOrigins: []string{origin}, RPDisplayName: "P"},
	} {
		if _, err := New(c, st); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := New(Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "P"}, nil); err == nil {
		t.Error("nil store accepted")
	}
	pk, err := New(Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "P", UserVerification: "required"}, st)
	if err != nil {
		t.Fatal(err)
	}
	if pk.cfg.CeremonyTTL != DefaultCeremonyTTL || pk.cfg.EnrolWindow != DefaultEnrolWindow || pk.cfg.KeyPrefix != DefaultKeyPrefix {
		t.Fatalf("defaults %+v", pk.cfg)
	}
}
