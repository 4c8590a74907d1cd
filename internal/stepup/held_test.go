package stepup

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

const password = "correct horse battery staple"

func loginRequest() Request {
	return Request{
		Method: "POST",
		URL:    "/api/login?lang=en",
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": {"app=abc"}},
		Body:   []byte("user=alice&password=" + password + "&smartid_data=xyz"),
	}
}

func TestHeldRequestRoundTripOneUse(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	want := loginRequest()
	ref, err := h.PutRequest(Owner{}, want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.TakeRequest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	_, err = h.TakeRequest(ref)
	wantReason(t, err, ReasonHeldMissing)
	if s := h.Stats(); s.Entries != 0 || s.Bytes != 0 || s.Puts != 1 || s.Taken != 1 || s.Missed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHeldResponseRoundTrip(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	want := Response{Status: 302, Header: http.Header{"Set-Cookie": {"sid=s1; HttpOnly", "csrf=c"}, "Location": {"/home"}}, Body: []byte("ok")}
	ref, err := h.PutResponse(Owner{}, want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.TakeResponse(ref)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestHeldRefusesWrongKeyOrKind(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	ref, _ := h.PutRequest(Owner{}, loginRequest())
	bad := Ref{Handle: ref.Handle, Key: bytes.Repeat([]byte{1}, heldKeyLen)}
	_, err := h.TakeRequest(bad)
	wantReason(t, err, ReasonHeldCorrupt)

	ref2, _ := h.PutRequest(Owner{}, loginRequest())
	_, err = h.TakeResponse(ref2)
	wantReason(t, err, ReasonHeldCorrupt)

	ref3, _ := h.PutRequest(Owner{}, loginRequest())
	_, err = h.TakeRequest(Ref{Handle: ref3.Handle, Key: ref3.Key[:16]})
	wantReason(t, err, ReasonHeldCorrupt)
}

func TestHeldCiphertextMovedUnderAnotherHandleDoesNotOpen(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	a, _ := h.PutRequest(Owner{}, loginRequest())
	b, _ := h.PutRequest(Owner{}, Request{Method: "GET", URL: "/"})
	h.mu.Lock()
	ea := h.byID[a.Handle].Value.(*heldEntry)
	eb := h.byID[b.Handle].Value.(*heldEntry)
	eb.sealed = ea.sealed
	h.mu.Unlock()
	_, err := h.TakeRequest(Ref{Handle: b.Handle, Key: a.Key})
	wantReason(t, err, ReasonHeldCorrupt)
}

func TestHeldEncryptedAtRest(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	ref, err := h.PutRequest(Owner{}, loginRequest())
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	e := h.byID[ref.Handle].Value.(*heldEntry)
	stored := append([]byte(nil), e.sealed...)
	h.mu.Unlock()
	for _, needle := range []string{
		password,
		base64.StdEncoding.EncodeToString([]byte("user=alice&password=" + password)),
		"alice", "/api/login", "app=abc",
	} {
		if bytes.Contains(stored, []byte(needle)) {
			t.Fatalf("held bytes contain %q", needle)
		}
	}
	if bytes.Contains(stored, ref.Key) {
		t.Fatal("held bytes contain their key")
	}
	// An entry is handle, kind, ciphertext, owner (two strings the
	// caller chose for the caps) and expiry: nowhere to keep a key.
	if n := reflect.TypeOf(heldEntry{}).NumField(); n != 5 || reflect.TypeOf(Owner{}).NumField() != 2 {
		t.Fatal("heldEntry gained a field: recheck that it cannot hold the key")
	}
}

func TestHeldTTL(t *testing.T) {
	clk := newClock()
	h := NewHeld(HeldConfig{Now: clk.Now, TTL: time.Minute})
	early, _ := h.PutRequest(Owner{}, loginRequest())
	clk.Advance(30 * time.Second)
	late, _ := h.PutRequest(Owner{}, loginRequest())
	if !h.Has(early.Handle) || !h.Has(late.Handle) {
		t.Fatal("entries missing before their TTL")
	}
	clk.Advance(30 * time.Second)
	if h.Has(early.Handle) || !h.Has(late.Handle) {
		t.Fatal("Has disagrees with the TTL")
	}
	_, err := h.TakeRequest(early)
	wantReason(t, err, ReasonHeldMissing)
	if _, err := h.TakeRequest(late); err != nil {
		t.Fatalf("entry taken before its TTL: %v", err)
	}
	if s := h.Stats(); s.Expired != 1 || s.Entries != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHeldMaxEntriesRefusesNewNotOld(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now, MaxEntries: 2})
	r1, _ := h.PutRequest(Owner{}, loginRequest())
	r2, _ := h.PutRequest(Owner{}, loginRequest())
	_, err := h.PutRequest(Owner{}, loginRequest())
	wantReason(t, err, ReasonHeldFull)
	for _, r := range []Ref{r1, r2} {
		if _, err := h.TakeRequest(r); err != nil {
			t.Fatal(err)
		}
	}
	if s := h.Stats(); s.Refused != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHeldMaxBytes(t *testing.T) {
	one := NewHeld(HeldConfig{Now: newClock().Now})
	r, _ := one.PutRequest(Owner{}, loginRequest())
	size := one.Stats().Bytes
	if _, err := one.TakeRequest(r); err != nil {
		t.Fatal(err)
	}

	h := NewHeld(HeldConfig{Now: newClock().Now, MaxBytes: 2*size + size/2})
	r1, _ := h.PutRequest(Owner{}, loginRequest())
	r2, _ := h.PutRequest(Owner{}, loginRequest())
	if s := h.Stats(); s.Bytes != 2*size || s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
	_, err := h.PutRequest(Owner{}, loginRequest())
	wantReason(t, err, ReasonHeldFull)
	for _, r := range []Ref{r1, r2} {
		if _, err := h.TakeRequest(r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHeldOwnerCaps: a client flooding the store meets its own cap and
// is refused; another client's and another user's entries are untouched,
// and the flooder's share frees as its entries are taken.
func TestHeldOwnerCaps(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now, ClientEntries: 3, UserEntries: 2})
	victim, err := h.PutRequest(Owner{Client: "198.51.100.7/32", User: "alice"}, loginRequest())
	if err != nil {
		t.Fatal(err)
	}
	var flood []Ref
	for i := range 3 {
		r, err := h.PutRequest(Owner{Client: "203.0.113.9/32", User: fmt.Sprint("u", i)}, loginRequest())
		if err != nil {
			t.Fatalf("flood %d within the cap: %v", i, err)
		}
		flood = append(flood, r)
	}
	_, err = h.PutRequest(Owner{Client: "203.0.113.9/32", User: "other"}, loginRequest())
	wantReason(t, err, ReasonHeldFull)
	// Per user: two entries for bob from anywhere, then refused.
	for i := range 2 {
		if _, err := h.PutRequest(Owner{Client: fmt.Sprintf("192.0.2.%d/32", i), User: "bob"}, loginRequest()); err != nil {
			t.Fatal(err)
		}
	}
	_, err = h.PutRequest(Owner{Client: "192.0.2.99/32", User: "bob"}, loginRequest())
	wantReason(t, err, ReasonHeldFull)
	if _, err := h.TakeRequest(victim); err != nil {
		t.Fatalf("the victim's entry: %v", err)
	}
	if _, err := h.TakeRequest(flood[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := h.PutRequest(Owner{Client: "203.0.113.9/32", User: "again"}, loginRequest()); err != nil {
		t.Fatalf("a freed share is usable again: %v", err)
	}
}

func TestHeldDestruct(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	r, _ := h.PutRequest(Owner{}, loginRequest())
	if err := h.Destruct(); err != nil {
		t.Fatal(err)
	}
	_, err := h.TakeRequest(r)
	wantReason(t, err, ReasonHeldMissing)
	if s := h.Stats(); s.Entries != 0 || s.Bytes != 0 {
		t.Fatalf("stats %+v", s)
	}
}
