package smartid

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

// TestReadResponseFields: what the parser takes from an answer.
func TestReadResponseFields(t *testing.T) {
	tests := []struct {
		in   string
		want response
	}{
		{okReply, response{status: 200, keepAlive: true}},
		{"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", response{status: 200, keepAlive: true}},
		{"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", response{status: 200}},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", response{status: 200}},
		{"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", response{status: 429, retryAfter: 7 * time.Second, keepAlive: true}},
		{"HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999\r\nContent-Length: 0\r\n\r\n", response{status: 503, retryAfter: 10 * time.Second, keepAlive: true}},
		{"HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\nContent-Length: 0\r\n\r\n", response{status: 503, keepAlive: true}},
		{"HTTP/1.1 500 Oops\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", response{status: 500, keepAlive: true}},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", response{status: 304, keepAlive: true}},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", response{status: 200, keepAlive: true}},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n", response{status: 200}},
	}
	for _, tt := range tests {
		got, err := readResponse(bufio.NewReader(strings.NewReader(tt.in)), 10*time.Second)
		if err != nil || got != tt.want {
			t.Errorf("%q:\n got %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzReadResponse: any input ends in an answer or an error, never a
// panic, and a keep-alive answer has been read to its end.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{okReply,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := strings.NewReader(in + "TAIL")
		br := bufio.NewReader(r)
		resp, err := readResponse(br, time.Second)
		if err == nil && (resp.status < 200 || resp.status > 599) {
			t.Fatalf("status %d accepted", resp.status)
		}
	})
}
