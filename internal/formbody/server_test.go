package formbody

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// seen is what the upstream received.
type seen struct {
	body             []byte
	contentLength    int64
	transferEncoding []string
	header           http.Header
}

// guardChain starts upstream ← reverse proxy with the guard in front, all on
// 127.0.0.1, and returns the guard's URL plus channels with what the guard
// parsed and what the upstream saw.
func guardChain(t *testing.T) (string, <-chan Fields, <-chan error, <-chan seen) {
	t.Helper()
	upstreamSaw := make(chan seen, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("upstream read: %v", err)
		}
		upstreamSaw <- seen{b, r.ContentLength, r.TransferEncoding, r.Header.Clone()}
	}))
	t.Cleanup(upstream.Close)
	target, _ := url.Parse(upstream.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)

	parsed := make(chan Fields, 1)
	refused := make(chan error, 1)
	guard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _, err := ParseRequest(r, 0, Spec{})
		if err != nil {
			refused <- err
			http.Error(w, "refused", err.(*Error).Status)
			return
		}
		parsed <- f
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(guard.Close)
	return guard.URL, parsed, refused, upstreamSaw
}

func TestEndToEndUpstreamGetsSameBytes(t *testing.T) {
	payload := "username=alice&password=hunter2&smartid_data=" + strings.Repeat("Zm9v", 500)
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			guardURL, parsed, refused, upstreamSaw := guardChain(t)
			var body io.Reader = strings.NewReader(payload)
			if chunked {
				// A reader of unknown length makes the client send chunked.
				body = io.MultiReader(strings.NewReader(payload))
			}
			req, _ := http.NewRequest(http.MethodPost, guardURL+"/api/login", body)
			req.Header.Set("Content-Type", ctForm)
			req.Header.Set("X-Probe", "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d (%v)", resp.StatusCode, drain(refused))
			}
			f := <-parsed
			if u, _ := f.User(); u != "alice" {
				t.Errorf("user %q", u)
			}
			got := <-upstreamSaw
			if string(got.body) != payload {
				t.Error("upstream body differs from the client's")
			}
			if got.header.Get("X-Probe") != "1" || got.header.Get("Content-Type") != ctForm {
				t.Errorf("upstream headers: %v", got.header)
			}
			if chunked {
				if got.contentLength != -1 || len(got.transferEncoding) != 1 || got.transferEncoding[0] != "chunked" {
					t.Errorf("chunked request reached upstream as CL %d TE %v", got.contentLength, got.transferEncoding)
				}
			} else if got.contentLength != int64(len(payload)) {
				t.Errorf("upstream Content-Length %d, want %d", got.contentLength, len(payload))
			}
		})
	}
}

func drain(ch <-chan error) error {
	select {
	case err := <-ch:
		return err
	default:
		return nil
	}
}

func TestEndToEndChunkedTooLarge(t *testing.T) {
	guardURL, _, refused, _ := guardChain(t)
	body := io.MultiReader(strings.NewReader(strings.Repeat("a", int(DefaultMaxBody)+10)))
	resp, err := http.Post(guardURL, ctForm, body)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	wantRefusal(t, <-refused, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
}

// TestClientResetMidBody sends a body shorter than its Content-Length and
// hangs up: the guard must refuse with a 400-class error, not panic.
func TestClientResetMidBody(t *testing.T) {
	guardURL, _, refused, _ := guardChain(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(guardURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var req bytes.Buffer
	req.WriteString("POST /api/login HTTP/1.1\r\nHost: guard\r\nContent-Type: " + ctForm + "\r\nContent-Length: 500\r\n\r\nusername=alice&pass")
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // a reset, not a clean close
	}
	conn.Close()
	err = <-refused
	wantRefusal(t, err, http.StatusBadRequest, ReasonBodyRead)
	if strings.Contains(err.Error(), "alice") {
		t.Errorf("message echoes body: %q", err.Error())
	}
}

func TestParseRequestRefusesAmbiguousHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader("username=a"))
	r.Header.Add("Content-Type", ctForm)
	r.Header.Add("Content-Type", ctJSON)
	_, _, err := ParseRequest(r, 0, Spec{})
	wantRefusal(t, err, http.StatusUnsupportedMediaType, ReasonUnsupportedMediaType)

	r = httptest.NewRequest(http.MethodPost, "/api/login?username=a;x=1", strings.NewReader("smartid_data=d"))
	r.Header.Set("Content-Type", ctForm)
	_, _, err = ParseRequest(r, 0, Spec{})
	wantRefusal(t, err, http.StatusBadRequest, ReasonMalformedQuery)

	r = httptest.NewRequest(http.MethodPost, "/api/login?username=q", strings.NewReader("smartid_data=d"))
	r.Header.Set("Content-Type", ctForm)
	f, body, err := ParseRequest(r, 0, Spec{})
	if err != nil || string(body) != "smartid_data=d" {
		t.Fatalf("ParseRequest: %q %v", body, err)
	}
	if u, _ := f.User(); u != "q" {
		t.Errorf("user from query = %q", u)
	}
}
