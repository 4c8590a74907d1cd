package loginid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// errNotFound: the key host answered that it does not know the kid. It is
// a definitive answer (negative-cached), unlike a transport failure.
var errNotFound = errors.New("kid not known to the key host")

// keySource fetches public keys from the key host.
type keySource interface {
	// fetch returns the usable keys the host offers for this request:
	// exactly {kid: key} in PEM mode, every usable key of the set in JWKS
	// mode (which may or may not hold kid). errNotFound when the host says
	// kid does not exist.
	fetch(ctx context.Context, kid string) (keys map[string]*ecdsa.PublicKey, status int, err error)
	// flightKey groups concurrent fetches that one request answers: the
	// kid in PEM mode, one shared key in JWKS mode.
	flightKey(kid string) string
}

// get performs one GET and returns at most max bytes of a 2xx body. A body
// longer than max is an error, not a truncated key. Statuses the host uses
// to say "no such key" (4xx other than 408 and 429) map to errNotFound.
func get(ctx context.Context, client *http.Client, rawURL, accept string, max int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "login_guard-loginid")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	status := resp.StatusCode
	if status < 200 || status > 299 {
		// Drain a little so the connection can be reused, never more.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
			return nil, status, errNotFound
		}
		return nil, status, fmt.Errorf("key host answered status %d", status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, status, fmt.Errorf("reading key host response: %w", err)
	}
	if int64(len(body)) > max {
		return nil, status, fmt.Errorf("key host response exceeds %d bytes", max)
	}
	return body, status, nil
}

// p256Key accepts only ECDSA P-256 public keys: the one curve ES256 uses.
func p256Key(k any) (*ecdsa.PublicKey, error) {
	pk, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not an ECDSA public key", k)
	}
	if pk.Curve != elliptic.P256() {
		return nil, errors.New("key is not on curve P-256")
	}
	return pk, nil
}
