package pages

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the answer, not a recorder's buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchWrite(b *testing.B, a Answer, accept string) {
	s := Default()
	r := httptest.NewRequest(http.MethodPost, "/api/login", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		if err := s.Write(w, r, a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteDenied is the deny page: bytes made at provision.
func BenchmarkWriteDenied(b *testing.B) { benchWrite(b, Answer{Code: Denied}, "") }

// BenchmarkWriteRateLimited is the 429 page, cached per wording.
func BenchmarkWriteRateLimited(b *testing.B) {
	benchWrite(b, Answer{Code: RateLimited, RetryAfter: 42 * time.Second}, "")
}

// BenchmarkWriteRateLimitedJSON is the 429 for a script.
func BenchmarkWriteRateLimitedJSON(b *testing.B) {
	benchWrite(b, Answer{Code: RateLimited, RetryAfter: 42 * time.Second}, "application/json")
}
