package formbody

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newRequest(body io.ReadCloser, contentLength int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/login", nil)
	r.Body = body
	r.ContentLength = contentLength
	r.Header.Set("Content-Type", ctForm)
	return r
}

func TestReadRestoresExactBytes(t *testing.T) {
	payload := []byte("username=alice&password=hunter2&smartid_data=" + strings.Repeat("A", 3000))
	orig := &closeTracker{r: bytes.NewReader(payload)}
	r := newRequest(orig, int64(len(payload)))
	r.TransferEncoding = []string{"identity"}
	header := r.Header.Clone()

	body, err := Read(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, payload) {
		t.Fatal("returned body differs from the request body")
	}
	if r.ContentLength != int64(len(payload)) || len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "identity" {
		t.Errorf("ContentLength/TransferEncoding changed: %d %v", r.ContentLength, r.TransferEncoding)
	}
	if len(r.Header) != len(header) || r.Header.Get("Content-Type") != header.Get("Content-Type") {
		t.Errorf("header changed: %v", r.Header)
	}
	replayed, err := io.ReadAll(r.Body)
	if err != nil || !bytes.Equal(replayed, payload) {
		t.Fatalf("replayed body differs (err %v)", err)
	}
	if orig.closed != 0 {
		t.Fatal("original body closed before the upstream closed it")
	}
	if err := r.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if orig.closed != 1 {
		t.Fatalf("original Close called %d times, want 1", orig.closed)
	}
}

func TestReadRefusesDeclaredLengthWithoutReading(t *testing.T) {
	orig := &closeTracker{r: strings.NewReader(strings.Repeat("x", 200))}
	r := newRequest(orig, 200)
	_, err := Read(r, 100)
	fe := wantRefusal(t, err, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
	if fe.Error() != "request body exceeds 100 bytes" {
		t.Errorf("message %q", fe.Error())
	}
	if orig.read != 0 {
		t.Errorf("read %d bytes of a body refused by its Content-Length", orig.read)
	}
	if r.Body != orig {
		t.Error("r.Body replaced after a refusal")
	}
}

func TestReadDefaultMax(t *testing.T) {
	r := newRequest(io.NopCloser(strings.NewReader("")), DefaultMaxBody+1)
	_, err := Read(r, 0)
	fe := wantRefusal(t, err, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
	if fe.Error() != "request body exceeds 65536 bytes" {
		t.Errorf("message %q", fe.Error())
	}
}

// endless yields 'x' forever and counts what was taken.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestReadChunkedBounded(t *testing.T) {
	for _, max := range []int64{1, 100, 5000, DefaultMaxBody} {
		src := &endless{}
		r := newRequest(io.NopCloser(src), -1)
		_, err := Read(r, max)
		wantRefusal(t, err, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
		if src.n > max+1 {
			t.Errorf("max %d: took %d bytes from an endless body, want at most max+1", max, src.n)
		}
	}
}

func TestReadExactlyMax(t *testing.T) {
	for _, cl := range []int64{100, -1} {
		payload := strings.Repeat("y", 100)
		r := newRequest(io.NopCloser(strings.NewReader(payload)), cl)
		body, err := Read(r, 100)
		if err != nil || string(body) != payload {
			t.Errorf("cl %d: body of exactly max: %v", cl, err)
		}
	}
	r := newRequest(io.NopCloser(strings.NewReader(strings.Repeat("y", 101))), -1)
	_, err := Read(r, 100)
	wantRefusal(t, err, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
}

func TestReadNoBody(t *testing.T) {
	for _, b := range []io.ReadCloser{nil, http.NoBody} {
		r := newRequest(b, 0)
		body, err := Read(r, 0)
		if err != nil || body != nil || r.Body != b {
			t.Errorf("body %v: got %q, %v, Body replaced=%v", b, body, err, r.Body != b)
		}
	}
	r := newRequest(http.NoBody, 0)
	r.Header.Set("Content-Encoding", "gzip")
	if body, err := Read(r, 0); err != nil || body != nil {
		t.Errorf("no body with Content-Encoding: %q %v", body, err)
	}
	orig := &closeTracker{r: strings.NewReader("")}
	r = newRequest(orig, 0)
	body, err := Read(r, 0)
	if err != nil || len(body) != 0 {
		t.Fatalf("empty body: %q %v", body, err)
	}
	r.Body.Close()
	if orig.closed != 1 {
		t.Error("empty body: original not closed")
	}
}

// failing returns some bytes then a transport error.
type failing struct {
	data []byte
	err  error
}

func (f *failing) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadTransportErrors(t *testing.T) {
	reset := errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: connection reset by peer")
	r := newRequest(io.NopCloser(&failing{data: []byte("username=a&pass"), err: reset}), 100)
	_, err := Read(r, 0)
	wantRefusal(t, err, http.StatusBadRequest, ReasonBodyRead)
	if !errors.Is(err, reset) {
		t.Error("transport error not unwrappable")
	}
	if strings.Contains(err.Error(), "username=a") {
		t.Errorf("message echoes body: %q", err.Error())
	}

	r = newRequest(io.NopCloser(&failing{data: []byte("abc"), err: io.ErrUnexpectedEOF}), -1)
	_, err = Read(r, 0)
	wantRefusal(t, err, http.StatusBadRequest, ReasonBodyRead)

	// A reader that never makes progress must not spin forever.
	r = newRequest(io.NopCloser(&failing{err: nil}), -1)
	_, err = Read(r, 0)
	wantRefusal(t, err, http.StatusBadRequest, ReasonBodyRead)
}

func TestReadLengthMismatch(t *testing.T) {
	r := newRequest(io.NopCloser(strings.NewReader("short")), 10)
	_, err := Read(r, 0)
	wantRefusal(t, err, http.StatusBadRequest, ReasonBodyRead)
	r = newRequest(io.NopCloser(strings.NewReader("longer than declared")), 4)
	_, err = Read(r, 0)
	wantRefusal(t, err, http.StatusBadRequest, ReasonBodyRead)
}

func TestReadMaxBytesReader(t *testing.T) {
	rec := httptest.NewRecorder()
	r := newRequest(nil, -1)
	r.Body = http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(strings.Repeat("z", 50))), 10)
	_, err := Read(r, 0)
	wantRefusal(t, err, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
}

func TestReadContentEncoding(t *testing.T) {
	tests := []struct {
		values []string
		ok     bool
	}{
		{nil, true},
		{[]string{"identity"}, true},
		{[]string{"IDENTITY"}, true},
		{[]string{""}, true},
		{[]string{"gzip"}, false},
		{[]string{"identity, gzip"}, false},
		{[]string{"identity", "br"}, false},
		{[]string{"deflate"}, false},
	}
	for _, tc := range tests {
		orig := &closeTracker{r: strings.NewReader("username=a")}
		r := newRequest(orig, 10)
		for _, v := range tc.values {
			r.Header.Add("Content-Encoding", v)
		}
		_, err := Read(r, 0)
		if tc.ok {
			if err != nil {
				t.Errorf("%q: %v", tc.values, err)
			}
			continue
		}
		wantRefusal(t, err, http.StatusUnsupportedMediaType, ReasonContentEncoding)
		if orig.read != 0 {
			t.Errorf("%q: encoded body was read", tc.values)
		}
	}
}

func TestReadTwiceIsStable(t *testing.T) {
	payload := "username=a"
	orig := &closeTracker{r: strings.NewReader(payload)}
	r := newRequest(orig, int64(len(payload)))
	if _, err := Read(r, 0); err != nil {
		t.Fatal(err)
	}
	body, err := Read(r, 0)
	if err != nil || string(body) != payload {
		t.Fatalf("second Read: %q %v", body, err)
	}
	replayed, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(replayed) != payload || orig.closed != 1 {
		t.Errorf("after two reads: %q, closes %d", replayed, orig.closed)
	}
}

// TestCookieNamedLikeAField: PHP's $_REQUEST (request_order unset) and
// ASP.NET's Request[...] read a cookie named like the user field, so one
// that says another user is refused; one that says the same passes, and so
// does one for a field the body does not carry.
func TestCookieNamedLikeAField(t *testing.T) {
	post := func(cookie string) error {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("username=alice&password=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		_, _, err := ParseRequest(r, 0, Spec{})
		return err
	}
	for _, c := range []string{"username=victim", "session=1; username=victim", "USERNAME=victim", "username[]=victim", " username =victim", "a=1, username=victim"} {
		var fe *Error
		if err := post(c); !errors.As(err, &fe) || fe.Reason != ReasonCookieConflict {
			t.Errorf("cookie %q: %v, want %s", c, err, ReasonCookieConflict)
		}
	}
	for _, c := range []string{"", "username=alice", `username="alice"`, "USERNAME=alice", "session=abc; theme=dark", "password=other", "username_hint=x", "smartid_data=x"} {
		if err := post(c); err != nil {
			t.Errorf("cookie %q: %v", c, err)
		}
	}
}

// TestCookieStandsInForAnAbsentField: an operation's guarded field (its
// amount) that the body does not carry, but a cookie named like it does,
// is refused: the portal would act on the cookie's value, which the guard
// never judged. The user is missing_user's business (a login without one
// is refused there, or allowed on purpose).
func TestCookieStandsInForAnAbsentField(t *testing.T) {
	post := func(body, cookie string) error {
		r := httptest.NewRequest(http.MethodPost, "/api/transfer", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		_, _, err := ParseRequest(r, 0, Spec{UniqueFields: []string{"amount", "to"}})
		return err
	}
	for _, c := range []struct{ body, cookie string }{
		{"note=hi", "amount=999999"},
		{"note=hi", "session=1; to=EVIL"},
		{"amount=5", "to=EVIL"},
		{"", "AMOUNT=1"},
	} {
		var fe *Error
		if err := post(c.body, c.cookie); !errors.As(err, &fe) || fe.Reason != ReasonCookieConflict {
			t.Errorf("body %q, cookie %q: %v, want %s", c.body, c.cookie, err, ReasonCookieConflict)
		}
	}
	for _, c := range []struct{ body, cookie string }{
		{"amount=5&to=A", "amount=5; to=A"},
		{"note=hi", "session=1; theme=dark"},
		{"note=hi", "username=alice"},
	} {
		if err := post(c.body, c.cookie); err != nil {
			t.Errorf("body %q, cookie %q: %v", c.body, c.cookie, err)
		}
	}
}

func TestTooManyFormFields(t *testing.T) {
	body := strings.Repeat("a=1&", 999) + "username=alice"
	if _, err := Parse(ctForm, []byte(body), nil, Spec{}); err != nil {
		t.Fatalf("1000 fields: %v", err)
	}
	var fe *Error
	if _, err := Parse(ctForm, []byte("b=2&"+body), nil, Spec{}); !errors.As(err, &fe) || fe.Reason != ReasonTooManyFields {
		t.Fatalf("1001 fields: %v", err)
	}
}

// TestTrailersRefused: trailers arrive after the body, where no header
// check looks; over HTTP/1.1 (chunked) and HTTP/2 alike, ParseRequest
// refuses a request that sent any.
func TestTrailersRefused(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := ParseRequest(r, 0, Spec{})
		var fe *Error
		if errors.As(err, &fe) {
			io.WriteString(w, fe.Reason)
			return
		}
		io.WriteString(w, "accepted")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		client := srv.Client()
		if proto == "HTTP/1.1" {
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}}
		}
		for _, trailer := range []bool{false, true} {
			pr, pw := io.Pipe()
			go func() {
				io.WriteString(pw, "username=alice&password=x")
				pw.Close()
			}()
			req, _ := http.NewRequest(http.MethodPost, srv.URL, pr)
			req.Header.Set("Content-Type", ctForm)
			if trailer {
				req.Trailer = http.Header{"X-Login-Guard-Action": {"allow"}}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "accepted"
			if trailer {
				want = ReasonTrailers
			}
			if resp.Proto != proto || string(got) != want {
				t.Errorf("%s, trailer %v: %s %q, want %q", proto, trailer, resp.Proto, got, want)
			}
		}
	}
}
