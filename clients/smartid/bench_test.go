package smartid

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// okTransport answers every request with 200 without a network, so the
// benchmark measures the client, not the loopback.
type okTransport struct{}

func (okTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// benchDevice is about the size of a browser SDK payload.
var benchDevice = strings.Repeat("ujOmfzNv5l/1SW+clQ==", 100)

// blockedTransport holds every request until the benchmark ends, so the
// workers stay parked and BenchmarkEnqueueLogin counts Enqueue's own work
// and allocations only.
type blockedTransport struct{ release chan struct{} }

func (t blockedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-t.release:
	case <-r.Context().Done():
	}
	return okTransport{}.RoundTrip(r)
}

// BenchmarkEnqueueLogin measures the request path's cost: validate,
// encode, queue. The loop takes each job back off the queue so it never
// fills, and gives its body back to the pool as a worker of the default
// sender does once an event is delivered.
func BenchmarkEnqueueLogin(b *testing.B) {
	tr := blockedTransport{release: make(chan struct{})}
	c, err := New(Config{
		Endpoint: "http://smartid.invalid", License: testLicense, ChannelID: 1,
		Workers: 1, QueueSize: 16, HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice}
	if err := c.Enqueue(ev); err != nil { // parks the only worker
		b.Fatal(err)
	}
	// Once the worker holds it, the loop's jobs are the loop's alone.
	for len(c.queue) > 0 {
		runtime.Gosched()
	}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if err := c.Enqueue(ev); err != nil {
			b.Fatal(err)
		}
		releaseBody((<-c.queue).body)
	}
	b.StopTimer()
	close(tr.release)
	_ = c.Close(context.Background())
}

// BenchmarkEnqueueAndDeliver runs the whole pipeline against a transport
// that answers at once; allocations include the workers' HTTP requests.
func BenchmarkEnqueueAndDeliver(b *testing.B) {
	c, err := New(Config{
		Endpoint: "http://smartid.invalid", License: testLicense, ChannelID: 1,
		QueueSize: 1 << 12, HTTPClient: &http.Client{Transport: okTransport{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if err := c.Enqueue(ev); err != nil && err != ErrQueueFull {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = c.Close(context.Background())
}

func BenchmarkEncodeLogin(b *testing.B) {
	ev := Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := ev.appendJSON(nil, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeOperation(b *testing.B) {
	ev := fullOperation()
	ev.Timestamp = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	b.ReportAllocs()
	benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := ev.appendJSON(nil, 1); err != nil {
			b.Fatal(err)
		}
	}
}
