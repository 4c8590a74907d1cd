package formbody

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// A typical login: the SmartID payload is the bulk of the body.
var (
	benchDevice = strings.Repeat("eyJ2IjoiNS4wIiwiZCI6IjEyMyJ9", 40)
	benchForm   = []byte("username=alice%40example.com&password=correct+horse&smartid_data=" + benchDevice)
	benchJSON   = []byte(`{"username":"alice@example.com","password":"correct horse","smartid_data":"` + benchDevice + `"}`)
)

// reusableBody lets a benchmark hand the same request a fresh body each
// iteration without allocating, so the figures are Read's and Parse's own.
type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

func benchReadParse(b *testing.B, ct string, payload []byte, contentLength int64) {
	r := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {ct}}, URL: &url.URL{Path: "/api/login"}}
	src := &reusableBody{}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		src.Reset(payload)
		r.Body, r.ContentLength = src, contentLength
		body, err := Read(r, 0)
		if err != nil {
			b.Fatal(err)
		}
		f, err := Parse(ct, body, nil, Spec{})
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := f.User(); !ok {
			b.Fatal("no user")
		}
	}
}

func BenchmarkReadParseFormLogin(b *testing.B) {
	benchReadParse(b, ctForm, benchForm, int64(len(benchForm)))
}

func BenchmarkReadParseJSONLogin(b *testing.B) {
	benchReadParse(b, ctJSON, benchJSON, int64(len(benchJSON)))
}

func BenchmarkReadParseFormLoginChunked(b *testing.B) {
	benchReadParse(b, ctForm, benchForm, -1)
}

func BenchmarkReadParseMultipartLogin(b *testing.B) {
	payload := []byte(mp(part("username", "alice@example.com"), part("password", "correct horse"), part("smartid_data", benchDevice)))
	benchReadParse(b, ctMultipart, payload, int64(len(payload)))
}

func BenchmarkParseJSONLoginNested(b *testing.B) {
	payload := []byte(`{"credentials":{"username":"alice","password":"x"},"smartid_data":"d","op":{"amount":125.5,"iban":"EE38"}}`)
	spec := Spec{UserField: "credentials.username", UniqueFields: []string{"op.amount"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(ctJSON, payload, nil, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadChunkedGrowth measures what the scratch pool saves: without
// it a 2 KiB chunked body costs a series of doubling allocations.
func BenchmarkReadChunkedGrowth(b *testing.B) {
	r := &http.Request{Header: http.Header{}}
	src := &reusableBody{}
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(benchForm)
		r.Body, r.ContentLength = src, -1
		if _, err := Read(r, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAllBaseline(b *testing.B) {
	src := &reusableBody{}
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(benchForm)
		if _, err := io.ReadAll(io.LimitReader(src, DefaultMaxBody+1)); err != nil {
			b.Fatal(err)
		}
	}
}

// The small login bodies of the guard's own benchmarks (caddymodule/login):
// what a deny_ip refusal reads before it refuses.
const (
	smallForm = "username=jlopez&password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	smallJSON = `{"username":"jlopez","password":"secret","smartid_data":"ujOmfzNv5l/1SW+clQ=="}`
)

// benchParseRequest measures ParseRequest as the guard calls it, on a
// request built once and rewound per iteration.
func benchParseRequest(b *testing.B, ct, payload string) {
	r := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {ct}}, URL: &url.URL{Path: "/api/login"}}
	src := &reusableBody{}
	raw := []byte(payload)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		src.Reset(raw)
		r.Body, r.ContentLength = src, int64(len(raw))
		f, _, err := ParseRequest(r, 0, Spec{})
		if err != nil {
			b.Fatal(err)
		}
		if u, _ := f.User(); u != "jlopez" {
			b.Fatal("user", u)
		}
	}
}

func BenchmarkParseRequestFormSmall(b *testing.B) {
	benchParseRequest(b, "application/x-www-form-urlencoded", smallForm)
}

func BenchmarkParseRequestFormSmallCharset(b *testing.B) {
	benchParseRequest(b, "application/x-www-form-urlencoded; charset=UTF-8", smallForm)
}

func BenchmarkParseRequestJSONSmall(b *testing.B) {
	benchParseRequest(b, "application/json", smallJSON)
}

func BenchmarkParseRequestJSONSmallCharset(b *testing.B) {
	benchParseRequest(b, "application/json; charset=utf-8", smallJSON)
}
