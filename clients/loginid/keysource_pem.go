package loginid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// pemSource asks DirectWeb's certs endpoint for one key per kid:
// GET <base>?kid=<kid>, answered with a PEM public key.
type pemSource struct {
	base   *url.URL
	client *http.Client
	max    int64
}

func newPEMSource(base string, client *http.Client, max int64) (*pemSource, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, errors.New("loginid: key url does not parse")
	}
	return &pemSource{base: u, client: client, max: max}, nil
}

func (s *pemSource) flightKey(kid string) string { return kid }

// urlFor adds kid as the query parameter, escaped, keeping any query the
// configured URL already has. kid has passed validKID before it gets here;
// escaping is the second fence.
func (s *pemSource) urlFor(kid string) string {
	u := *s.base
	q := u.Query()
	q.Set("kid", kid)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *pemSource) fetch(ctx context.Context, kid string) (map[string]*ecdsa.PublicKey, int, error) {
	body, status, err := get(ctx, s.client, s.urlFor(kid), "application/x-pem-file, text/plain, */*", s.max)
	if err != nil {
		return nil, status, err
	}
	key, err := parsePEMKey(body)
	if err != nil {
		return nil, status, err
	}
	return map[string]*ecdsa.PublicKey{kid: key}, status, nil
}

// parsePEMKey reads exactly one PEM block: a "PUBLIC KEY" (PKIX) or a
// "CERTIFICATE" whose public key is taken (trust comes from the TLS
// connection to the configured host, not from the certificate). The body
// may also be that PEM text as a JSON string, in case the endpoint answers
// JSON. Anything after the block other than whitespace is refused.
func parsePEMKey(body []byte) (*ecdsa.PublicKey, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, errors.New("key host answered a JSON value that is not a PEM string")
		}
		trimmed = bytes.TrimSpace([]byte(s))
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, errors.New("key host answer holds no PEM block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("key host answer holds data after the PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing public key: %w", err)
		}
		return p256Key(k)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		return p256Key(c.PublicKey)
	}
	return nil, fmt.Errorf("unexpected PEM block type %q", block.Type)
}
