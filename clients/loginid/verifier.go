package loginid

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/login-guard/login_guard/internal/noredirect"
)

// Verifier checks LoginID DirectWeb JWTs. It is safe for concurrent use.
// Create it with New and release it with Close.
type Verifier struct {
	cfg    Config
	keys   *keyStore
	replay ReplayCache
	shares *replayShares
}

// New validates cfg, fills in defaults and returns a Verifier. It does not
// contact the key host: keys are fetched on first use.
func New(cfg Config) (*Verifier, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// A copy of the client that never follows redirects: the configured
	// host, and only it, is trusted for keys.
	c.HTTPClient = noredirect.Client(c.HTTPClient)

	var src keySource
	switch c.Mode {
	case ModePEM:
		src, err = newPEMSource(c.KeyURL, c.HTTPClient, c.MaxResponseBytes)
		if err != nil {
			return nil, err
		}
	case ModeJWKS:
		src = &jwksSource{url: c.KeyURL, client: c.HTTPClient, max: c.MaxResponseBytes, maxKeys: c.KeyCacheSize}
	}
	ks, err := newKeyStore(&c, src)
	if err != nil {
		return nil, err
	}
	rc := c.ReplayCache
	if rc == nil {
		rc = NewMemoryReplayCache(c.ReplayCacheSize)
	}
	return &Verifier{cfg: c, keys: ks, replay: rc, shares: newReplayShares(c.ReplayPerUser, c.ReplayPerClient)}, nil
}

// Close cancels key fetches in progress, waits for their goroutines and
// releases the key cache. Verify afterwards fails with sub-reason "closed".
// The replay cache is left alone: it may be shared.
func (v *Verifier) Close() { v.keys.close() }

// Verify checks that token, sent from the client address client, is a
// LoginID authentication result for expectedUser, and records it as
// used. Every failure is an *Error with
// Reason rules.ReasonAssertionInvalid and a Sub-reason; Retryable tells
// the failures that are not the token's fault.
//
// Checks, in order: size and compact form (header and payload in
// canonical base64url); header alg equal to
// Config.Algorithm (the header cannot choose it); no crit; kid valid and
// known; signature; exp and iat present; exp, nbf, iat and max_age against
// the clock with ClockSkew; iss, aud, namespace; type is an authentication
// type; user claim byte-equal to expectedUser; and last, the user's and
// the client network's shares of the replay cache (Config.ReplayPerUser,
// Config.ReplayPerClient) and the replay cache, so a token refused for
// another reason is never recorded. client is the address the guard
// counts the request under (an invalid one counts as one client of its
// own). With
// Config.Enrolled, the user must be enrolled (asked just before the
// replay checks).
func (v *Verifier) Verify(ctx context.Context, token, expectedUser string, client netip.Addr) (Claims, error) {
	return v.verify(ctx, token, expectedUser, client, false)
}

// VerifyRegistration checks that token is a LoginID registration result
// (a TypeClaim among Config.RegistrationTypes: what DirectWeb's
// dw.register returns) for expectedUser, with every check Verify makes
// but Config.Enrolled (signature, iss, aud, namespace, exp, iat and
// max_age, byte-equal user, the replay shares and the replay cache), and
// records it as used. An
// authentication result is refused (authentication_token). The guard's
// enrolment page uses it to see a registration it allowed.
func (v *Verifier) VerifyRegistration(ctx context.Context, token, expectedUser string, client netip.Addr) (Claims, error) {
	return v.verify(ctx, token, expectedUser, client, true)
}

func (v *Verifier) verify(ctx context.Context, token, expectedUser string, client netip.Addr, registration bool) (Claims, error) {
	if len(token) > v.cfg.MaxTokenBytes || !compactJWS(token) {
		return Claims{}, fail(SubMalformed)
	}
	kp := keyProvider{v: v}
	payload, err := jws.Verify([]byte(token), jws.WithCompact(), jws.WithKeyProvider(&kp), jws.WithContext(ctx))
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return Claims{}, e
		}
		if kp.kid != "" && jws.IsVerificationError(err) {
			return Claims{}, fail(SubBadSignature)
		}
		return Claims{}, fail(SubMalformed)
	}

	var raw rawClaims
	if err := json.Unmarshal(payload, &raw); err != nil || raw == nil {
		return Claims{}, fail(SubMalformed)
	}
	cl, ferr := v.readClaims(raw)
	if ferr != nil {
		return Claims{}, ferr
	}
	cl.KeyID = kp.kid
	now := v.cfg.Now()
	if ferr := v.checkTime(raw, &cl, now); ferr != nil {
		return Claims{}, ferr
	}
	if ferr := v.checkParties(&cl, registration); ferr != nil {
		return Claims{}, ferr
	}
	if expectedUser == "" || cl.User == "" {
		return Claims{}, fail(SubMissingUser)
	}
	if cl.User != expectedUser {
		return Claims{}, fail(SubWrongUser)
	}
	if v.cfg.Enrolled != nil && !registration {
		ok, err := v.cfg.Enrolled(ctx, cl.User)
		switch {
		case err != nil:
			return Claims{}, failCause(SubEnrolmentUnavailable, err)
		case !ok:
			return Claims{}, &Error{Reason: ReasonNotEnrolled, Sub: SubNotEnrolled}
		}
	}
	lifetime := v.cfg.MaxAge + v.cfg.ClockSkew + replayMargin
	until := cl.IssuedAt.Add(lifetime)
	// A user or a client network at its share is refused before the
	// cache is asked: a replay then reads as replay_user_limit or
	// replay_client_limit, refused alike.
	share := v.shares.key(cl.User, client)
	switch v.shares.take(share, now.UnixNano()) {
	case SubReplayUserLimit:
		return Claims{}, &Error{Reason: ReasonReplayUserLimit, Sub: SubReplayUserLimit, RetryAfter: lifetime}
	case SubReplayClientLimit:
		return Claims{}, &Error{Reason: ReasonReplayClientLimit, Sub: SubReplayClientLimit, RetryAfter: lifetime}
	}
	err = v.replay.Remember(replayKey(cl.Nonce, token), until, now)
	if err == nil {
		v.shares.keep(share, until.UnixNano())
	} else {
		v.shares.give(share)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrReplayed):
		return Claims{}, fail(SubReplayed)
	case errors.Is(err, ErrReplayCacheFull):
		return Claims{}, fail(SubReplayCacheFull)
	default:
		return Claims{}, failCause(SubReplayUnavailable, err)
	}
	return cl, nil
}

// replayMargin keeps a use remembered past the last instant checkTime
// accepts the token (iat+MaxAge+ClockSkew, inclusive): a cache that drops
// an entry at its expiry instant, or a millisecond early (Redis counts
// whole milliseconds), or an instance whose clock is a little behind the
// one that recorded the use, would otherwise take the token once more.
const replayMargin = time.Second

// readClaims copies the claims Verify needs; a claim of the wrong JSON type
// makes the token malformed.
func (v *Verifier) readClaims(raw rawClaims) (Claims, *Error) {
	var cl Claims
	var err error
	strs := []struct {
		dst  *string
		name string
	}{
		{&cl.User, v.cfg.UserClaim},
		{&cl.Type, v.cfg.TypeClaim},
		{&cl.Namespace, v.cfg.NamespaceClaim},
		{&cl.Nonce, v.cfg.NonceClaim},
		{&cl.Issuer, "iss"},
		{&cl.Subject, "sub"},
		{&cl.ID, "jti"},
	}
	for _, s := range strs {
		if *s.dst, _, err = raw.str(s.name); err != nil {
			return Claims{}, fail(SubMalformed)
		}
	}
	if cl.Audience, err = raw.audience(); err != nil {
		return Claims{}, fail(SubMalformed)
	}
	return cl, nil
}

// checkTime enforces exp, iat (both required), nbf and max_age.
func (v *Verifier) checkTime(raw rawClaims, cl *Claims, now time.Time) *Error {
	exp, hasExp, err := raw.date("exp")
	if err != nil {
		return fail(SubMalformed)
	}
	iat, hasIat, err := raw.date("iat")
	if err != nil {
		return fail(SubMalformed)
	}
	nbf, hasNbf, err := raw.date("nbf")
	if err != nil {
		return fail(SubMalformed)
	}
	skew := v.cfg.ClockSkew
	switch {
	case !hasExp:
		return fail(SubMissingExp)
	case !hasIat:
		return fail(SubMissingIat)
	case now.After(exp.Add(skew)):
		return fail(SubExpired)
	case hasNbf && now.Add(skew).Before(nbf):
		return fail(SubNotYetValid)
	case iat.After(now.Add(skew)):
		return fail(SubIatFuture)
	case now.After(iat.Add(v.cfg.MaxAge + skew)):
		return fail(SubTooOld)
	}
	cl.IssuedAt, cl.Expiry = iat, exp
	return nil
}

// checkParties enforces issuer, audience, namespace and the result type:
// an authentication, or with registration a registration.
func (v *Verifier) checkParties(cl *Claims, registration bool) *Error {
	if v.cfg.Issuer != "" && cl.Issuer != v.cfg.Issuer {
		return fail(SubWrongIssuer)
	}
	if !slices.Contains(cl.Audience, v.cfg.ClientID) {
		return fail(SubWrongAudience)
	}
	if v.cfg.Namespace != "" && cl.Namespace != v.cfg.Namespace {
		return fail(SubWrongNamespace)
	}
	want, other, otherSub := v.cfg.AuthenticationTypes, v.cfg.RegistrationTypes, SubRegistration
	if registration {
		want, other, otherSub = v.cfg.RegistrationTypes, v.cfg.AuthenticationTypes, SubAuthentication
	}
	if !slices.Contains(want, cl.Type) {
		if slices.Contains(other, cl.Type) {
			return fail(otherSub)
		}
		return fail(SubWrongType)
	}
	return nil
}

// keyProvider hands jws.Verify the key for the token's kid, after checking
// the header: the algorithm is fixed by config (so "none" and HMAC with the
// public key as secret never reach a verifier) and the key is always
// registered under that algorithm, never the header's.
type keyProvider struct {
	v   *Verifier
	kid string // set once the header passed and a key was found
}

func (p *keyProvider) FetchKeys(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	if h == nil {
		return fail(SubMalformed)
	}
	if h.Algorithm() != jwa.SignatureAlgorithm(p.v.cfg.Algorithm) {
		return fail(SubAlgNotAllowed)
	}
	if len(h.Critical()) > 0 {
		return fail(SubCritHeader)
	}
	kid := h.KeyID()
	if kid == "" {
		return fail(SubMissingKID)
	}
	if !validKID(kid) {
		return fail(SubInvalidKID)
	}
	key, ferr := p.v.keys.lookup(ctx, kid)
	if ferr != nil {
		return ferr
	}
	p.kid = kid
	sink.Key(jwa.SignatureAlgorithm(p.v.cfg.Algorithm), key)
	return nil
}

// compactJWS reports whether s has the shape of a compact JWS: three
// non-empty-header, base64url segments separated by two dots, the header
// and the payload in their one canonical encoding. It keeps the JSON
// serialization (and its unprotected headers) out.
//
// Canonical: jws.Verify checks the signature over the segments as it
// re-encodes them from their decoded bytes, and a decoder ignores the
// unused low bits of a segment's last character, so the same signed token
// could be written in up to 256 spellings whose signing inputs differ as
// strings, each a new replay key (replayKey) for a token without nonce.
func compactJWS(s string) bool {
	if strings.Count(s, ".") != 2 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	header, rest, _ := strings.Cut(s, ".")
	payload, _, _ := strings.Cut(rest, ".")
	return canonicalBase64URL(header) && canonicalBase64URL(payload)
}

// canonicalBase64URL reports whether seg, made of base64url characters,
// is the unpadded encoding an encoder gives: not one character too many
// for its bytes, and no bit set among the unused low bits of its last
// character.
func canonicalBase64URL(seg string) bool {
	var unused uint
	switch len(seg) % 4 {
	case 0:
		return true
	case 1:
		return false
	case 2:
		unused = 4
	case 3:
		unused = 2
	}
	return base64URLValue(seg[len(seg)-1])&(1<<unused-1) == 0
}

// base64URLValue is the 6-bit value of a base64url character.
func base64URLValue(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	}
	return 63 // '_'
}

// replayKey is SHA-256 over the nonce, or, without one, over the signing
// input (header.payload). Not over the whole token: an ECDSA signature can
// be rewritten into another valid one (s → n−s), so hashing the signature
// would let one token pass twice. The signing input has one spelling,
// compactJWS having refused any other encoding of the same bytes.
func replayKey(nonce, token string) ReplayKey {
	h := sha256.New()
	if nonce != "" {
		h.Write([]byte("nonce\x00"))
		h.Write([]byte(nonce))
	} else {
		h.Write([]byte("input\x00"))
		h.Write([]byte(token[:strings.LastIndexByte(token, '.')]))
	}
	var k ReplayKey
	h.Sum(k[:0])
	return k
}
