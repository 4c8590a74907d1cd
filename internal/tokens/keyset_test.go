package tokens

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

type sess struct {
	User string `json:"u"`
	ID   string `json:"s"`
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newKS(t testing.TB, now time.Time) (*Keyset, Stored) {
	t.Helper()
	s, err := NewStored(now)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeyset(s)
	if err != nil {
		t.Fatal(err)
	}
	return ks, s
}

func TestSealOpenRoundTrip(t *testing.T) {
	ks, _ := newKS(t, t0)
	tok, err := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok, "jlopez") {
		t.Fatal("token must not reveal its claims")
	}
	var got sess
	if err := ks.Open("session", tok, t0.Add(59*time.Minute), &got); err != nil {
		t.Fatal(err)
	}
	if got != (sess{"jlopez", "abc"}) {
		t.Fatalf("got %+v", got)
	}
}

func TestOpenRefuses(t *testing.T) {
	ks, _ := newKS(t, t0)
	other, _ := newKS(t, t0)
	tok, _ := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	foreign, _ := other.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	tampered := flipBit(tok)
	cases := []struct {
		name, purpose, token, reason string
		at                           time.Time
	}{
		{"expired", "session", tok, "expired", t0.Add(time.Hour)},
		{"other purpose", "stepup", tok, "forged", t0},
		{"tampered", "session", tampered, "forged", t0},
		{"foreign key", "session", foreign, "unknown_key", t0},
		{"garbage", "session", "not.a.token", "malformed", t0},
		{"not base64", "session", "!!!!", "malformed", t0},
		{"truncated", "session", tok[:40], "malformed", t0},
		{"empty", "session", "", "malformed", t0},
		{"other version", "session", otherVersion(tok), "malformed", t0},
		{"huge", "session", strings.Repeat("a", 9000), "too_long", t0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got sess
			err := ks.Open(c.purpose, c.token, c.at, &got)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			var e *Error
			if c.reason != "" && (!errors.As(err, &e) || e.Reason != c.reason) {
				t.Fatalf("want reason %q, got %v", c.reason, err)
			}
		})
	}
}

// flipBit changes one bit of the token's sealed bytes (not of its text:
// a flipped text bit can make a character that is not base64, which is
// "malformed", not the forgery this stands for).
func flipBit(tok string) string {
	raw, err := b64.DecodeString(tok)
	if err != nil {
		panic(err)
	}
	raw[len(raw)-5] ^= 1
	return b64.EncodeToString(raw)
}

func otherVersion(tok string) string {
	raw, _ := b64.DecodeString(tok)
	raw[0] = 3
	return b64.EncodeToString(raw)
}

// TestOpenRefusesSameIDOtherSecret: the key id is only a hint; a token
// opens only under the secret that sealed it.
func TestOpenRefusesSameIDOtherSecret(t *testing.T) {
	ks, s := newKS(t, t0)
	tok, _ := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	s2, _ := NewStored(t0)
	s2.Keys[0].ID = s.Keys[0].ID
	impostor, _ := NewKeyset(s2)
	var got sess
	err := impostor.Open("session", tok, t0, &got)
	var e *Error
	if !errors.As(err, &e) || e.Reason != "forged" {
		t.Fatalf("want forged, got %v", err)
	}
}

// TestTokensDiffer: every seal draws a fresh nonce, so two tokens of the
// same data never match (nor reveal that they carry the same claims).
func TestTokensDiffer(t *testing.T) {
	ks, _ := newKS(t, t0)
	a, _ := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	b, _ := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	if a == b || strings.ContainsAny(a, ".=+/") {
		t.Fatalf("tokens %q %q", a, b)
	}
}

func TestRotationKeepsGrace(t *testing.T) {
	s, _ := NewStored(t0)
	ks1, _ := NewKeyset(s)
	old, _ := ks1.Seal("session", sess{"a", "b"}, t0, 48*time.Hour)

	day := 24 * time.Hour
	s2, changed, err := s.Rotate(t0.Add(8*day), 7*day, 2*day)
	if err != nil || !changed || len(s2.Keys) != 2 {
		t.Fatalf("rotate: changed=%v keys=%d err=%v", changed, len(s2.Keys), err)
	}
	ks2, _ := NewKeyset(s2)
	if ks2.CurrentID() == ks1.CurrentID() {
		t.Fatal("rotation must change the current key")
	}
	var got sess
	if err := ks2.Open("session", old, t0.Add(day), &got); err != nil {
		t.Fatalf("token of the previous key must open during grace: %v", err)
	}
	s3, changed, _ := s2.Rotate(t0.Add(11*day), 7*day, 2*day)
	if !changed || len(s3.Keys) != 1 || s3.Keys[0].ID != ks2.CurrentID() {
		t.Fatalf("old key must be dropped after grace: %+v", s3.Keys)
	}
	if _, changed, _ := s3.Rotate(t0.Add(12*day), 7*day, 2*day); changed {
		t.Fatal("nothing to rotate")
	}
}

func TestPseudonymStableAcrossRotation(t *testing.T) {
	s, _ := NewStored(t0)
	ks1, _ := NewKeyset(s)
	s2, _, _ := s.Rotate(t0.Add(30*24*time.Hour), time.Hour, time.Hour)
	ks2, _ := NewKeyset(s2)
	a, b := ks1.Pseudonym("app", "SESSIONTOKEN"), ks2.Pseudonym("app", "SESSIONTOKEN")
	if a != b || strings.Contains(a, "SESSIONTOKEN") || a == ks1.Pseudonym("app", "OTHER") {
		t.Fatalf("pseudonyms %q %q", a, b)
	}
}

func TestParseStored(t *testing.T) {
	if _, err := ParseStored([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("empty material must be refused")
	}
	if _, err := ParseStored([]byte(`{`)); err == nil {
		t.Fatal("malformed material must be refused")
	}
}

func BenchmarkOpen(b *testing.B) {
	ks, _ := newKS(b, t0)
	tok, _ := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		var got sess
		if err := ks.Open("session", tok, t0, &got); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	ks, _ := newKS(b, t0)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSameMaterial: a reload of unchanged material is the same keyset; a
// rotation, another secret under the same id or another pseudonym key is
// not.
func TestSameMaterial(t *testing.T) {
	ks, s := newKS(t, t0)
	again, _ := NewKeyset(s)
	if !ks.SameMaterial(again) {
		t.Fatal("the same material reloaded differs")
	}
	if ks.SameMaterial(nil) {
		t.Fatal("nil is no keyset")
	}
	rotated, changed, err := s.Rotate(t0.Add(30*24*time.Hour), 24*time.Hour, 48*time.Hour)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	if r, _ := NewKeyset(rotated); ks.SameMaterial(r) {
		t.Fatal("a rotated set is the same")
	}
	other, _ := NewStored(t0)
	other.Keys[0].ID = s.Keys[0].ID
	other.Pseudonyms = s.Pseudonyms
	if o, _ := NewKeyset(other); ks.SameMaterial(o) {
		t.Fatal("another secret under the same id is the same")
	}
	pseudo := s
	pseudo.Pseudonyms = append([]byte(nil), s.Pseudonyms...)
	pseudo.Pseudonyms[0] ^= 1
	if p, _ := NewKeyset(pseudo); ks.SameMaterial(p) {
		t.Fatal("another pseudonym key is the same")
	}
}
