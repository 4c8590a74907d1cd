package request

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/login-guard/login_guard/internal/stepup"
)

// TestHeldBodyWipe: the replay's body reads the held bytes until it is
// wiped; then they are zero and a read (a transport still writing the
// request) fails rather than read them, also while reads run alongside
// the wipe (go test -race).
func TestHeldBodyWipe(t *testing.T) {
	held := stepup.Request{Method: "POST", URL: "/api/login", Body: []byte("username=jlopez&password=secret")}
	r2, body, err := HeldRequest(httptest.NewRequest("POST", "/api/login", nil), held)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Body != body || r2.ContentLength != int64(len(held.Body)) {
		t.Fatalf("replay body %T, length %d", r2.Body, r2.ContentLength)
	}
	if b, err := io.ReadAll(r2.Body); err != nil || !bytes.Equal(b, held.Body) {
		t.Fatalf("read %q, %v", b, err)
	}
	body.Wipe()
	if bytes.Count(held.Body, []byte{0}) != len(held.Body) {
		t.Fatalf("held body after Wipe: %q", held.Body)
	}
	if n, err := body.Read(make([]byte, 8)); n != 0 || !errors.Is(err, ErrHeldBodyWiped) {
		t.Fatalf("read after Wipe: %d, %v", n, err)
	}
	var none *HeldBody
	none.Wipe() // a login without a body has none

	held.Body = bytes.Repeat([]byte("p"), 1<<16)
	_, body, _ = HeldRequest(httptest.NewRequest("POST", "/api/login", nil), held)
	var wg sync.WaitGroup
	wg.Go(func() {
		p := make([]byte, 7)
		for {
			n, err := body.Read(p)
			if bytes.IndexByte(p[:n], 0) >= 0 {
				t.Errorf("read a wiped byte")
			}
			if err != nil {
				return
			}
		}
	})
	body.Wipe()
	wg.Wait()
}
