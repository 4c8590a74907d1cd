package engine

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestExchange(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"a":1}`) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 65)) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 404) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := NewHTTPClient(4)
	defer c.CloseIdleConnections()

	tests := []struct {
		path     string
		wantKind string
		wantBody string
	}{
		{"/ok", "", `{"a":1}`},
		{"/big", KindMalformed, ""},
		{"/500", KindStatus5xx, ""},
		{"/404", KindStatus4xx, ""},
		{"/redirect", KindStatusOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+tt.path, nil)
			body, err := Exchange(c, "eng", req, 64)
			if tt.wantKind == "" {
				if err != nil || string(body) != tt.wantBody {
					t.Fatalf("Exchange = %q, %v", body, err)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) || f.Kind != tt.wantKind {
				t.Fatalf("Exchange error = %v, want kind %s", err, tt.wantKind)
			}
		})
	}
}

func TestExchangeRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+"/x?k=secret", nil)
	_, err = Exchange(NewHTTPClient(1), "eng", req, 64)
	var f *Failure
	if !errors.As(err, &f) || f.Kind != KindRefused {
		t.Fatalf("error = %v, want refused", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error quotes the URL: %v", err)
	}
}

func TestExchangeTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		// No answer at all: a returning handler would send a 200 that net/http's
		// client may still hand a caller cancelling the request, as if answered.
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	ctx, cancelT := context.WithTimeout(ctx, 0) // already expired: a timeout, not a cancel
	defer cancelT()
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	_, err := Exchange(NewHTTPClient(1), "eng", req, 64)
	var f *Failure
	if !errors.As(err, &f) || f.Kind != KindTimeout {
		t.Fatalf("error = %v, want timeout", err)
	}
}

func TestNewHTTPClientKeepsConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{}")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := NewHTTPClient(2)
	defer c.CloseIdleConnections()
	for range 5 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, nil)
		if _, err := Exchange(c, "eng", req, 64); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 sequential calls, want 1 (keep-alive)", n)
	}
}

// TestNewHTTPClientTrusting: the client reaches a server whose certificate
// is in the PEM file (and not otherwise), with the default transport's
// proxy and timeouts and no redirect, and a file that cannot be read or
// holds no certificate is an error naming it.
func TestNewHTTPClientTrusting(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	hc, err := NewHTTPClientTrusting(ca, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if hc.Timeout != time.Second {
		t.Fatalf("timeout %v", hc.Timeout)
	}
	// As the clients without a PEM file: the environment's proxy, the
	// default transport's handshake and idle timeouts, no redirect.
	tr := hc.Transport.(*http.Transport)
	if tr.Proxy == nil || tr.TLSHandshakeTimeout <= 0 || tr.IdleConnTimeout <= 0 || tr.DialContext == nil {
		t.Fatalf("transport: proxy set %v, handshake timeout %v, idle timeout %v, dialer set %v", tr.Proxy != nil, tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.DialContext != nil)
	}
	if hc.CheckRedirect == nil || hc.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Fatal("the client would follow a redirect")
	}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	if _, err := NewHTTPClient(2).Get(srv.URL); err == nil {
		t.Fatal("the test server's certificate is trusted without the PEM file")
	}

	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{junk, filepath.Join(dir, "absent.pem")} {
		if _, err := NewHTTPClientTrusting(f, 0); err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("%s: err = %v, want one naming the file", f, err)
		}
	}
}
