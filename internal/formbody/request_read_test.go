package formbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"
)

// ParseRequest reads a body of declared length without readBody (startRead
// and readDeclared, with the memory allocated in place). It must read
// every request exactly as Read does: the same bytes, the same refusal,
// the same body put back.
func TestParseRequestReadsAsRead(t *testing.T) {
	form := "username=jlopez&password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	type bodyCase struct {
		name string
		make func() (io.ReadCloser, int64)
		enc  []string
		max  int64
	}
	reader := func(s string, n int64) func() (io.ReadCloser, int64) {
		return func() (io.ReadCloser, int64) { return io.NopCloser(strings.NewReader(s)), n }
	}
	reset := errors.New("connection reset by peer")
	var cases []bodyCase
	for _, size := range []int{0, 1, 40, 82, 83, 84, 131, 132, 600, 5000} {
		s := form
		for len(s) < size {
			s += "&x=" + strings.Repeat("y", 7)
		}
		s = s[:size]
		for _, max := range []int64{0, int64(size), int64(size) - 1, 64} {
			cases = append(cases,
				bodyCase{name: fmt.Sprintf("declared %d max %d", size, max), make: reader(s, int64(size)), max: max},
				bodyCase{name: fmt.Sprintf("chunked %d max %d", size, max), make: reader(s, -1), max: max},
				bodyCase{name: fmt.Sprintf("one byte at a time %d max %d", size, max), make: func() (io.ReadCloser, int64) {
					return io.NopCloser(iotest.OneByteReader(strings.NewReader(s))), int64(size)
				}, max: max},
				bodyCase{name: fmt.Sprintf("declared short %d", size), make: reader(s, int64(size)+3), max: max},
				bodyCase{name: fmt.Sprintf("declared long %d", size), make: reader(s+"&z=1", int64(size)), max: max},
			)
		}
	}
	cases = append(cases,
		bodyCase{name: "nil body", make: func() (io.ReadCloser, int64) { return nil, 0 }},
		bodyCase{name: "NoBody", make: func() (io.ReadCloser, int64) { return http.NoBody, 0 }},
		bodyCase{name: "NoBody gzip", make: func() (io.ReadCloser, int64) { return http.NoBody, 0 }, enc: []string{"gzip"}},
		bodyCase{name: "gzip", make: reader(form, int64(len(form))), enc: []string{"gzip"}},
		bodyCase{name: "identity", make: reader(form, int64(len(form))), enc: []string{"identity"}},
		bodyCase{name: "transport error", make: func() (io.ReadCloser, int64) {
			return io.NopCloser(&failing{data: []byte("username=a&pass"), err: reset}), 100
		}},
		bodyCase{name: "no progress", make: func() (io.ReadCloser, int64) { return io.NopCloser(&failing{}), 10 }},
		bodyCase{name: "MaxBytesReader", make: func() (io.ReadCloser, int64) {
			return http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(form)), 10), int64(len(form))
		}},
	)
	describe := func(body []byte, err error, r *http.Request) string {
		// After a refusal the body is left partly read and is not
		// forwarded (a reader that makes no progress would never end).
		var rest []byte
		var rerr error
		if r.Body != nil && err == nil {
			rest, rerr = io.ReadAll(r.Body)
		}
		var e *Error
		status, reason := 0, ""
		if errors.As(err, &e) {
			status, reason = e.Status, e.Reason
		} else if err != nil {
			reason = "not an *Error"
		}
		return fmt.Sprintf("body %q, refusal %d %s %v, put back %q %v", body, status, reason, err, rest, rerr)
	}
	for _, c := range cases {
		build := func() *http.Request {
			body, n := c.make()
			r := newRequest(body, n)
			if c.enc != nil {
				r.Header["Content-Encoding"] = c.enc
			}
			return r
		}
		r := build()
		body, err := Read(r, c.max)
		want := describe(body, err, r)
		r = build()
		_, body, err = ParseRequest(r, c.max, Spec{})
		var fe *Error
		if errors.As(err, &fe) && fe.Reason != ReasonBodyRead && fe.Reason != ReasonBodyTooLarge && fe.Reason != ReasonContentEncoding {
			// Read a body that the parse then refused (a cut form):
			// the reading is what is compared.
			err = nil
		}
		if got := describe(body, err, r); got != want {
			t.Errorf("%s:\nParseRequest %s\nRead         %s", c.name, got, want)
		}
	}
}

// The small login form of the benchmarks takes one allocation of the
// allocator's 384-byte size class, with the room for its decoded values.
func TestParseRequestSmallFormMemory(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		for _, s := range []struct {
			name       string
			got, class uintptr
		}{
			{"tiny", unsafe.Sizeof(tinyRequestMemory{}), 384},
			{"small", unsafe.Sizeof(smallRequestMemory{}), 480},
			{"medium", unsafe.Sizeof(mediumRequestMemory{}), 1280},
		} {
			if s.got != s.class {
				t.Errorf("%s request memory is %d bytes, not its size class's %d", s.name, s.got, s.class)
			}
		}
	}
	raw := []byte(smallForm)
	r := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {ctForm}}}
	src := &reusableBody{}
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(raw)
		r.Body, r.ContentLength = src, int64(len(raw))
		f, body, err := ParseRequest(r, 0, Spec{})
		if err != nil || !bytes.Equal(body, raw) {
			t.Fatal(err)
		}
		if u, _ := f.User(); u != "jlopez" {
			t.Fatal("user", u)
		}
	})
	if allocs != 1 {
		t.Errorf("ParseRequest of a small login form: %v allocations, want 1", allocs)
	}
}
