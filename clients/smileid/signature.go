package smileid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"sync"
	"time"
)

// TimestampLayout is the ISO 8601 form this package sends: UTC with
// milliseconds, what JavaScript's Date.toISOString gives the Node SDK.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// maxTimestampLen bounds what VerifySignature parses; an ISO 8601 time
// with nanoseconds and an offset is 35 bytes.
const maxTimestampLen = 64

// Signer computes and checks Smile ID's request signature:
//
//	base64(HMAC-SHA256(key = api_key, msg = timestamp + partner_id + "sid_request"))
//
// The signature binds only the timestamp and the partner, not a job or a
// body: a valid pair proves the sender holds the API key at about that
// time and nothing more. That is why a callback never completes a step-up
// on its own.
type Signer struct {
	partnerID string
	window    time.Duration
	now       func() time.Time
	macs      sync.Pool // of *macState keyed with the API key
}

// macState is a keyed HMAC with scratch buffers, pooled so that signing
// and verifying allocate nothing on the hot path.
type macState struct {
	h   hash.Hash
	msg []byte
	sig []byte
	out []byte
}

// NewSigner returns a Signer. window bounds how far a verified timestamp
// may be from now() in either direction; now is the clock (time.Now when
// nil). The API key is kept only inside the keyed HMAC states.
func NewSigner(partnerID, apiKey string, window time.Duration, now func() time.Time) (*Signer, error) {
	if partnerID == "" || apiKey == "" {
		return nil, fmt.Errorf("%w: partner id and api key are required", ErrConfig)
	}
	if window <= 0 {
		return nil, fmt.Errorf("%w: signature window must be positive", ErrConfig)
	}
	if now == nil {
		now = time.Now
	}
	key := []byte(apiKey)
	s := &Signer{partnerID: partnerID, window: window, now: now}
	s.macs.New = func() any {
		return &macState{h: hmac.New(sha256.New, key), msg: make([]byte, 0, 128), sig: make([]byte, 0, 64), out: make([]byte, 0, sha256.Size)}
	}
	return s, nil
}

// String keeps the key out of any %v of a Signer.
func (s *Signer) String() string { return "smileid.Signer{partner_id:" + s.partnerID + "}" }

// GoString keeps the key out of %#v.
func (s *Signer) GoString() string { return s.String() }

// Sign returns the signature for timestamp, sent as given.
func (s *Signer) Sign(timestamp string) string {
	var sum [sha256.Size]byte
	s.mac(timestamp, sum[:0])
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Stamp returns now() formatted with TimestampLayout and its signature:
// the pair every outbound request carries.
func (s *Signer) Stamp() (timestamp, signature string) {
	ts := s.now().UTC().Format(TimestampLayout)
	return ts, s.Sign(ts)
}

// VerifySignature checks a timestamp/signature pair that claims to come
// from Smile ID: the timestamp must parse as ISO 8601 (RFC 3339, fraction
// optional), the signature must equal Sign(timestamp), compared in
// constant time, and the timestamp must lie within the window around
// now(). It returns nil, ErrBadTimestamp, ErrBadSignature or
// ErrStaleTimestamp, checked in that order: so ErrStaleTimestamp names a
// pair made with the API key (a clock off, a delayed retry or a replay),
// never a forgery.
func (s *Signer) VerifySignature(timestamp, signature string) error {
	t, err := parseTimestamp(timestamp)
	if err != nil {
		return err
	}
	if err := s.verifyMAC(timestamp, signature); err != nil {
		return err
	}
	if d := s.now().Sub(t); d > s.window || d < -s.window {
		return ErrStaleTimestamp
	}
	return nil
}

// verifyMAC checks only the signature, for callers that apply their own
// bound on the timestamp.
func (s *Signer) verifyMAC(timestamp, signature string) error {
	var got [sha256.Size + 3]byte // room to notice an over-long signature
	if base64.StdEncoding.DecodedLen(len(signature)) > len(got) {
		return ErrBadSignature
	}
	st := s.macs.Get().(*macState)
	defer s.macs.Put(st)
	st.sig = append(st.sig[:0], signature...)
	n, err := base64.StdEncoding.Decode(got[:], st.sig)
	if err != nil {
		return ErrBadSignature
	}
	st.out = st.sum(s.partnerID, timestamp, st.out[:0])
	if !hmac.Equal(got[:n], st.out) {
		return ErrBadSignature
	}
	return nil
}

// mac appends HMAC(timestamp + partner_id + "sid_request") to dst.
func (s *Signer) mac(timestamp string, dst []byte) []byte {
	st := s.macs.Get().(*macState)
	dst = st.sum(s.partnerID, timestamp, dst)
	s.macs.Put(st)
	return dst
}

func (st *macState) sum(partnerID, timestamp string, dst []byte) []byte {
	st.msg = append(append(append(st.msg[:0], timestamp...), partnerID...), "sid_request"...)
	st.h.Reset()
	st.h.Write(st.msg)
	return st.h.Sum(dst)
}

func parseTimestamp(ts string) (time.Time, error) {
	if ts == "" || len(ts) > maxTimestampLen {
		return time.Time{}, ErrBadTimestamp
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	return t, nil
}
