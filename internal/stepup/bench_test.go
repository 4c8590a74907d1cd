package stepup

import (
	"testing"

	"github.com/login-guard/login_guard/rules"
)

func BenchmarkIssueVerifyState(b *testing.B) {
	clk := newClock()
	is := newIssuer(b, clk, IPPrefix{})
	c := resubmitChallenge(alice)
	c.Correlations = []rules.Correlation{{Engine: "smartid", ID: "0f8fad5b-d9cb-469f-a165-70867728950e"}}
	b.ReportAllocs()
	for b.Loop() {
		tok, _, err := is.Issue(c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := is.Verify(tok, alice); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeldPutTake(b *testing.B) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	req := loginRequest()
	b.ReportAllocs()
	for b.Loop() {
		ref, err := h.PutRequest(Owner{}, req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.TakeRequest(ref); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUsedSetMark(b *testing.B) {
	s := NewUsedSet(1 << 20)
	ids := make([]string, 4096)
	for i := range ids {
		ids[i], _ = NewHandle()
	}
	now := t0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Each id lives 1ns of fake time, so the set stays small and the
		// benchmark measures mark plus purge.
		if _, err := s.Mark(ids[i%len(ids)], now.Add(1), now); err != nil {
			b.Fatal(err)
		}
		now = now.Add(1)
		i++
	}
}

func BenchmarkValidateTarget(b *testing.B) {
	allow := []string{"verify.example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateTarget("https://verify.example.com/step?x=1", allow); err != nil {
			b.Fatal(err)
		}
		if err := ValidateTarget("/login_guard/step_up", allow); err != nil {
			b.Fatal(err)
		}
	}
}
