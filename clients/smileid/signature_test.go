package smileid

import (
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
)

func TestSignKnownVector(t *testing.T) {
	// Computed with: printf '%s' '2021-06-21T15:10:15.729Z172sid_request' |
	//   openssl dgst -sha256 -hmac 'test-api-key' -binary | base64
	s, err := NewSigner("172", "test-api-key", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign("2021-06-21T15:10:15.729Z"); got != "NgrhkPRa95TTrFnrCKjRgsMnHY0bbgodQgiw2sou+0s=" {
		t.Fatalf("Sign = %s", got)
	}
}

func TestStamp(t *testing.T) {
	clk := clock.New(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("X", 3600)))
	s, _ := NewSigner(testPartner, testKey, time.Minute, clk.Now)
	ts, sig := s.Stamp()
	if ts != "2026-01-02T02:04:05.006Z" || sig != refSign(testKey, ts) {
		t.Fatalf("Stamp = %s %s", ts, sig)
	}
}

func TestVerifySignature(t *testing.T) {
	clk := clock.New(t0)
	s, _ := NewSigner(testPartner, testKey, 5*time.Minute, clk.Now)
	at := func(d time.Duration) string { return t0.Add(d).UTC().Format(TimestampLayout) }
	now := at(0)
	pyISO := "2026-03-10T12:00:00.123456+00:00" // Python's isoformat()
	offset := "2026-03-10T13:00:00+01:00"
	tests := []struct {
		name, ts, sig string
		want          error
	}{
		{"valid", now, refSign(testKey, now), nil},
		{"valid python isoformat", pyISO, refSign(testKey, pyISO), nil},
		{"valid with offset", offset, refSign(testKey, offset), nil},
		{"edge of window past", at(-5 * time.Minute), refSign(testKey, at(-5*time.Minute)), nil},
		{"edge of window future", at(5 * time.Minute), refSign(testKey, at(5*time.Minute)), nil},
		{"stale", at(-5*time.Minute - time.Millisecond), refSign(testKey, at(-5*time.Minute-time.Millisecond)), ErrStaleTimestamp},
		{"far future", at(5*time.Minute + time.Millisecond), refSign(testKey, at(5*time.Minute+time.Millisecond)), ErrStaleTimestamp},
		{"wrong key", now, refSign("other", now), ErrBadSignature},
		// The signature before the window: only the key makes a pair stale.
		{"stale and forged", at(-time.Hour), refSign("other", at(-time.Hour)), ErrBadSignature},
		{"signature of other partner", now, refSign(testKey, now+"x"), ErrBadSignature},
		{"truncated", now, refSign(testKey, now)[:40], ErrBadSignature},
		{"extended", now, refSign(testKey, now) + "AAAA", ErrBadSignature},
		{"not base64", now, "!!!!", ErrBadSignature},
		{"empty signature", now, "", ErrBadSignature},
		{"very long signature", now, string(make([]byte, 4096)), ErrBadSignature},
		{"empty timestamp", "", refSign(testKey, ""), ErrBadTimestamp},
		{"date only", "2026-03-10", refSign(testKey, "2026-03-10"), ErrBadTimestamp},
		{"unix millis", "1773144000123", refSign(testKey, "1773144000123"), ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.VerifySignature(tt.ts, tt.sig); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignerConfig(t *testing.T) {
	for _, tt := range []struct {
		partner, key string
		window       time.Duration
	}{{"", "k", time.Minute}, {"p", "", time.Minute}, {"p", "k", 0}} {
		if _, err := NewSigner(tt.partner, tt.key, tt.window, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("NewSigner(%q, key, %v) err = %v", tt.partner, tt.window, err)
		}
	}
}
