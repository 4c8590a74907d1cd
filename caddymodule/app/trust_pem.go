package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// clientTrusting returns an HTTP client that trusts the system roots plus
// the certificates in pemFile (a private PKI in front of a vendor, or a
// test server). timeout 0 leaves the caller's own deadlines in charge.
func clientTrusting(pemFile string, timeout time.Duration) (*http.Client, error) {
	pem, err := os.ReadFile(pemFile)
	if err != nil {
		return nil, fmt.Errorf("trust_pem: %v", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("trust_pem %s holds no certificate", pemFile)
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}, nil
}
