package formbody

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// memoryReader hands out body and keeps the first buffer it was asked to
// fill: the start of the memory the parser reads the body into.
type memoryReader struct {
	r     io.Reader
	first []byte
}

func (m *memoryReader) Read(p []byte) (int, error) {
	if m.first == nil {
		m.first = p
	}
	return m.r.Read(p)
}

func (m *memoryReader) Close() error { return nil }

// TestParseHeldRequestKeepsNoCopy: ParseHeldRequest zeroes the memory it
// read the body into (the password, and the values decoded after it),
// and its fields, which were slices of that memory, own their strings.
// ParseRequest leaves its memory alone: it is the body the upstream
// reads.
func TestParseHeldRequestKeepsNoCopy(t *testing.T) {
	const body = "username=j%C3%B6rg&password=s3cret-pass&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D&remember=yes"
	for _, held := range []bool{true, false} {
		mr := &memoryReader{r: strings.NewReader(body)}
		r := httptest.NewRequest(http.MethodPost, "/api/login", nil)
		r.Body, r.ContentLength = mr, int64(len(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var (
			f   Fields
			err error
		)
		if held {
			f, err = ParseHeldRequest(r, 0, Spec{})
		} else {
			f, _, err = ParseRequest(r, 0, Spec{})
		}
		if err != nil {
			t.Fatal(err)
		}
		mem := mr.first[:cap(mr.first)]
		if !held {
			if !bytes.Contains(mem, []byte("s3cret-pass")) {
				t.Fatalf("ParseRequest's memory %q: not the body it hands on", mem)
			}
			if r.Body == io.ReadCloser(mr) {
				t.Fatal("ParseRequest did not put the body back")
			}
			continue
		}
		if bytes.Count(mem, []byte{0}) != len(mem) {
			t.Fatalf("ParseHeldRequest's memory after it returned: %q, want it zeroed", mem)
		}
		if r.Body != io.ReadCloser(mr) {
			t.Fatal("ParseHeldRequest left r.Body another reader than the one it read")
		}
		user, _ := f.User()
		device, _ := f.Device()
		remember, _ := f.Get("remember")
		if user != "jörg" || device != "ujOmfzNv5l/1SW+clQ==" || remember != "yes" {
			t.Fatalf("fields after the wipe: user %q device %q remember %q", user, device, remember)
		}
	}
}
