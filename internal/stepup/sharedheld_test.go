package stepup

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// mapBackend is a HeldBackend in a map, with the once-only Take a shared
// backend must give.
type mapBackend struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail error
}

func (b *mapBackend) Store(h string, s []byte, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.m[h] = append([]byte(nil), s...)
	return nil
}

func (b *mapBackend) Take(h string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return nil, b.fail
	}
	s, ok := b.m[h]
	if !ok {
		return nil, ErrHeldGone
	}
	delete(b.m, h)
	return s, nil
}

func (b *mapBackend) Has(h string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[h]
	return ok, b.fail
}

func TestSharedHeld(t *testing.T) {
	be := &mapBackend{m: map[string][]byte{}}
	a, b := NewSharedHeld(be, time.Minute), NewSharedHeld(be, time.Minute)
	req := Request{Method: "POST", URL: "/login", Body: []byte("username=u&password=secret-pw")}
	ref, err := a.PutRequest(Owner{}, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range be.m {
		if string(s) == string(req.Body) || len(s) == 0 || containsBytes(s, []byte("secret-pw")) {
			t.Fatal("the backend holds the plaintext")
		}
	}
	if !b.Has(ref.Handle) {
		t.Fatal("the other instance does not see the entry")
	}
	if _, err := b.TakeResponse(ref); !isRefusal(err, ReasonHeldCorrupt) {
		t.Fatalf("a request taken as a response: %v", err)
	}
	ref, _ = a.PutRequest(Owner{}, req)
	wrong := ref
	wrong.Key = make([]byte, len(ref.Key))
	if _, err := b.TakeRequest(wrong); !isRefusal(err, ReasonHeldCorrupt) {
		t.Fatalf("wrong key: %v", err)
	}
	ref, _ = a.PutRequest(Owner{}, req)
	got, err := b.TakeRequest(ref)
	if err != nil || string(got.Body) != string(req.Body) {
		t.Fatalf("take on the other instance: %+v %v", got, err)
	}
	if _, err := a.TakeRequest(ref); !isRefusal(err, ReasonHeldMissing) {
		t.Fatalf("second take: %v", err)
	}
	be.fail = errors.New("down")
	if _, err := a.PutRequest(Owner{}, req); err == nil {
		t.Fatal("put on a failed backend succeeded")
	}
	if _, err := a.TakeRequest(ref); err == nil || isRefusal(err, ReasonHeldMissing) {
		t.Fatalf("take on a failed backend: %v", err)
	}
}

func containsBytes(s, sub []byte) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == string(sub) {
			return true
		}
	}
	return false
}

func isRefusal(err error, reason string) bool {
	var r *Error
	return errors.As(err, &r) && r.Reason == reason
}
