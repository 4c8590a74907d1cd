package stepup

import (
	"bytes"
	"encoding/base64"
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
	ref, err := h.PutRequest(want)
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
	ref, err := h.PutResponse(want)
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
	ref, _ := h.PutRequest(loginRequest())
	bad := Ref{Handle: ref.Handle, Key: bytes.Repeat([]byte{1}, heldKeyLen)}
	_, err := h.TakeRequest(bad)
	wantReason(t, err, ReasonHeldCorrupt)

	ref2, _ := h.PutRequest(loginRequest())
	_, err = h.TakeResponse(ref2)
	wantReason(t, err, ReasonHeldCorrupt)

	ref3, _ := h.PutRequest(loginRequest())
	_, err = h.TakeRequest(Ref{Handle: ref3.Handle, Key: ref3.Key[:16]})
	wantReason(t, err, ReasonHeldCorrupt)
}

func TestHeldCiphertextMovedUnderAnotherHandleDoesNotOpen(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	a, _ := h.PutRequest(loginRequest())
	b, _ := h.PutRequest(Request{Method: "GET", URL: "/"})
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
	ref, err := h.PutRequest(loginRequest())
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
	// An entry is handle, kind, ciphertext and expiry: nowhere to keep a key.
	if n := reflect.TypeOf(heldEntry{}).NumField(); n != 4 {
		t.Fatal("heldEntry gained a field: recheck that it cannot hold the key")
	}
}

func TestHeldTTL(t *testing.T) {
	clk := newClock()
	h := NewHeld(HeldConfig{Now: clk.Now, TTL: time.Minute})
	early, _ := h.PutRequest(loginRequest())
	clk.Advance(30 * time.Second)
	late, _ := h.PutRequest(loginRequest())
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

func TestHeldMaxEntriesEvictsOldest(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now, MaxEntries: 2})
	r1, _ := h.PutRequest(loginRequest())
	r2, _ := h.PutRequest(loginRequest())
	r3, _ := h.PutRequest(loginRequest())
	_, err := h.TakeRequest(r1)
	wantReason(t, err, ReasonHeldMissing)
	for _, r := range []Ref{r2, r3} {
		if _, err := h.TakeRequest(r); err != nil {
			t.Fatal(err)
		}
	}
	if s := h.Stats(); s.Evicted != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHeldMaxBytes(t *testing.T) {
	one := NewHeld(HeldConfig{Now: newClock().Now})
	r, _ := one.PutRequest(loginRequest())
	size := one.Stats().Bytes
	if _, err := one.TakeRequest(r); err != nil {
		t.Fatal(err)
	}

	h := NewHeld(HeldConfig{Now: newClock().Now, MaxBytes: 2*size + size/2})
	r1, _ := h.PutRequest(loginRequest())
	r2, _ := h.PutRequest(loginRequest())
	if s := h.Stats(); s.Bytes != 2*size || s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
	r3, _ := h.PutRequest(loginRequest())
	s := h.Stats()
	if s.Bytes > h.cfg.MaxBytes || s.Entries != 2 || s.Evicted != 1 {
		t.Fatalf("over the byte bound: %+v", s)
	}
	if _, err := h.TakeRequest(r1); ReasonOf(err) != ReasonHeldMissing {
		t.Fatalf("oldest not evicted: %v", err)
	}
	for _, r := range []Ref{r2, r3} {
		if _, err := h.TakeRequest(r); err != nil {
			t.Fatal(err)
		}
	}

	huge := Request{Body: make([]byte, 4*size)}
	if _, err := h.PutRequest(huge); err != ErrHeldTooLarge {
		t.Fatalf("entry larger than the store: %v", err)
	}
}

func TestHeldDestruct(t *testing.T) {
	h := NewHeld(HeldConfig{Now: newClock().Now})
	r, _ := h.PutRequest(loginRequest())
	if err := h.Destruct(); err != nil {
		t.Fatal(err)
	}
	_, err := h.TakeRequest(r)
	wantReason(t, err, ReasonHeldMissing)
	if s := h.Stats(); s.Entries != 0 || s.Bytes != 0 {
		t.Fatalf("stats %+v", s)
	}
}
