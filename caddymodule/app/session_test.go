package app

import (
	"strings"
	"testing"
)

// TestSessionBinary: the session's binary form round-trips, and any
// truncation or trailing byte is refused.
func TestSessionBinary(t *testing.T) {
	for _, s := range []Session{
		{},
		{User: "jlopez", Session: "s1", LoginAt: 1764500000, Challenged: true},
		{User: "ünïcode user", Session: strings.Repeat("x", 300), LoginAt: -1},
	} {
		b, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got Session
		if err := got.UnmarshalBinary(b); err != nil || got != s {
			t.Fatalf("round trip %+v: got %+v, %v", s, got, err)
		}
		for i := range len(b) {
			if err := got.UnmarshalBinary(b[:i]); err == nil {
				t.Fatalf("%+v truncated to %d bytes was accepted", s, i)
			}
		}
		if err := got.UnmarshalBinary(append(b, 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
	if err := new(Session).UnmarshalBinary([]byte{1, 0, 0, 0, 2}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}
