package smileid

import (
	"context"
	"testing"
	"time"
)

func BenchmarkVerifySignature(b *testing.B) {
	s, _ := NewSigner(testPartner, testKey, 5*time.Minute, func() time.Time { return t0 })
	ts := t0.UTC().Format(TimestampLayout)
	sig := refSign(testKey, ts)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.VerifySignature(ts, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignatureBad(b *testing.B) {
	s, _ := NewSigner(testPartner, testKey, 5*time.Minute, func() time.Time { return t0 })
	ts := t0.UTC().Format(TimestampLayout)
	sig := refSign("other", ts)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.VerifySignature(ts, sig); err == nil {
			b.Fatal("verified")
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s, _ := NewSigner(testPartner, testKey, 5*time.Minute, nil)
	ts := t0.UTC().Format(TimestampLayout)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sign(ts)
	}
}

// BenchmarkHandleCallbackRefused is the cost of a forged callback: parsed
// and refused at the signature, no outbound call.
func BenchmarkHandleCallbackRefused(b *testing.B) {
	c, err := New(Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	ts := t0.UTC().Format(TimestampLayout)
	body := callbackJSON(ts, refSign("forger", ts), firstJobID, testUser, "1220")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.HandleCallback(context.Background(), body); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkRegistryStatus(b *testing.B) {
	r, _ := NewRegistry(1000, time.Minute, func() time.Time { return t0 })
	r.Register(firstJobID, testUser, testState)
	b.ReportAllocs()
	for b.Loop() {
		if r.Status(firstJobID) != StatePending {
			b.Fatal("state")
		}
	}
}

// BenchmarkBuildZip is the CPU and memory of packing a realistic job: a
// 200 KB selfie and eight 50 KB liveness frames.
func BenchmarkBuildZip(b *testing.B) {
	c, err := New(Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	img := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*7 + i>>8)
		}
		return append([]byte{0xFF, 0xD8, 0xFF}, p...)
	}
	req := SubmitRequest{UserID: testUser, Selfie: img(200 << 10)}
	for i := 0; i < 8; i++ {
		req.Liveness = append(req.Liveness, img(50<<10))
	}
	info := infoJSON{Images: images(req), ServerInformation: []byte(`{}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.buildZip(info); err != nil {
			b.Fatal(err)
		}
	}
}
