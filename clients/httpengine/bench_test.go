package httpengine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkEncodeRequest(b *testing.B) {
	a := attempt()
	now := time.Now
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(NewRequest(a, now)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerdict(b *testing.B) {
	c, err := New(Config{URL: "http://127.0.0.1/"})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"action":"challenge","score":61,"reasons":["New Device","geo-velocity"],"correlation_id":"c-1"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.verdict(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideLoopback is a whole call over a kept-alive loopback
// connection.
func BenchmarkDecideLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"action":"allow","score":3}`)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	a := attempt()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decide(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}
