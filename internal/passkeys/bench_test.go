package passkeys

import (
	"context"
	"testing"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/login-guard/login_guard/internal/testkit/clock"
)

func BenchmarkLoginCeremony(b *testing.B) {
	f := newFixture(b, nil)
	a := newSoftAuthn(b, origin)
	ctx := context.Background()
	proof := cleanLogin("alice", t0)
	opts, id, err := f.pk.BeginRegistration(ctx, proof)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.pk.FinishRegistration(ctx, id, post(a.Create(opts)), proof); err != nil {
		b.Fatal(err)
	}
	counter := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		counter++
		opts, id, err := f.pk.BeginLogin(ctx, "alice")
		if err != nil {
			b.Fatal(err)
		}
		body := a.Get(opts, counter)
		if _, err := f.pk.FinishLogin(ctx, id, "alice", post(body)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCeremonyPutTake(b *testing.B) {
	c := newCeremonies(1000, DefaultMaxCeremoniesPerClient, DefaultCeremonyTTL, clock.New(t0).Now)
	s := webauthn.SessionData{Challenge: "abc"}
	b.ReportAllocs()
	for b.Loop() {
		id, err := c.put(kindLogin, "alice", "", s)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := c.take(id); !ok {
			b.Fatal("lost")
		}
	}
}

func BenchmarkMayEnrollSession(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	proof := cleanLogin("alice", t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.pk.MayEnroll(ctx, proof); err != nil {
			b.Fatal(err)
		}
	}
}
