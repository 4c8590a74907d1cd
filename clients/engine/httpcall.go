package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/login-guard/login_guard/internal/noredirect"
)

// drainLimit bounds how much of an error answer is read (and thrown away)
// so that its connection can be reused.
const drainLimit = 4 << 10

// NewHTTPClient returns a client for one engine host: connections are kept
// alive (maxIdlePerHost idle ones, at least 2) because engines are called
// on every guarded request and a TLS handshake per call would eat the
// latency budget; redirects are not followed, so credentials are never
// replayed to another place and a redirect surfaces as status_other.
// It has no overall timeout: each call's context carries the deadline.
func NewHTTPClient(maxIdlePerHost int) *http.Client {
	if maxIdlePerHost < 2 {
		maxIdlePerHost = 2
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = maxIdlePerHost
	t.MaxIdleConnsPerHost = maxIdlePerHost
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, CheckRedirect: noredirect.Check}
}

// NewHTTPClientTrusting returns an HTTP client that trusts the system
// roots plus the certificates in pemFile (a private PKI in front of a
// vendor, or a test server). timeout 0 leaves the caller's own deadlines
// in charge. It follows no redirect. Errors name the file, not its content.
func NewHTTPClientTrusting(pemFile string, timeout time.Duration) (*http.Client, error) {
	pem, err := os.ReadFile(pemFile)
	if err != nil {
		return nil, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", pemFile)
	}
	// Go's default transport with the extra roots: its proxy from the
	// environment (HTTPS_PROXY), dial, TLS-handshake and idle-connection
	// timeouts, as the clients without trust_pem have.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: timeout, Transport: tr, CheckRedirect: noredirect.Check}, nil
}

// Exchange sends req (which must carry the call's context) and returns the
// body of a 2xx answer, read up to maxBytes. Every other outcome is a
// *Failure named after engine: a transport error (timeout, refused,
// canceled), a non-2xx status, or a body over maxBytes (malformed). Error
// answers are drained a little so keep-alive connections survive them.
func Exchange(c *http.Client, engine string, req *http.Request, maxBytes int64) ([]byte, error) {
	ctx := req.Context()
	resp, err := c.Do(req)
	if err != nil {
		return nil, TransportFailure(ctx, engine, err)
	}
	defer resp.Body.Close()
	if f := StatusFailure(engine, resp.StatusCode); f != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return nil, f
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, TransportFailure(ctx, engine, err)
	}
	if int64(len(body)) > maxBytes {
		return nil, &Failure{Engine: engine, Kind: KindMalformed,
			Err: fmt.Errorf("response larger than %d bytes", maxBytes)}
	}
	return body, nil
}
