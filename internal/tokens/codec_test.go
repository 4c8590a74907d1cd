package tokens

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// binSess is sess with its own binary form: a length-prefixed user, then
// the id.
type binSess struct{ User, ID string }

func (s binSess) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(s.User)))
	b = append(b, s.User...)
	return append(b, s.ID...), nil
}

func (s *binSess) UnmarshalBinary(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return errors.New("short")
	}
	s.User, s.ID = string(b[k:k+int(n)]), string(b[k+int(n):])
	return nil
}

func TestBinaryDataRoundTrip(t *testing.T) {
	ks, _ := newKS(t, t0)
	tok, err := ks.Seal("session", binSess{"jlopez", "abc"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var got binSess
	if err := ks.Open("session", tok, t0, &got); err != nil || got != (binSess{"jlopez", "abc"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	// A type that only reads JSON cannot take binary data, and the
	// other way round: each is malformed for the other.
	var js sess
	var e *Error
	if err := ks.Open("session", tok, t0, &js); !errors.As(err, &e) || e.Reason != "malformed" {
		t.Fatalf("binary into a JSON type: %v", err)
	}
	jtok, _ := ks.Seal("session", sess{"jlopez", "abc"}, t0, time.Hour)
	if err := ks.Open("session", jtok, t0, &got); err != nil {
		// JSON data into a binary type is read as JSON (binSess has no
		// JSON tags, so nothing matches, but nothing fails either).
		t.Fatalf("JSON into a binary type: %v", err)
	}
}

func BenchmarkSealBinary(b *testing.B) {
	ks, _ := newKS(b, t0)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := ks.Seal("session", binSess{"jlopez", "abc"}, t0, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenBinary(b *testing.B) {
	ks, _ := newKS(b, t0)
	tok, _ := ks.Seal("session", binSess{"jlopez", "abc"}, t0, time.Hour)
	var got binSess
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if err := ks.Open("session", tok, t0, &got); err != nil {
			b.Fatal(err)
		}
	}
}
