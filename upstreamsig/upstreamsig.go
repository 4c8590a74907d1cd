package upstreamsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names. A client's own copies are removed by the guard before it
// sets these.
const (
	HeaderAction    = "X-Login-Guard-Action"
	HeaderScore     = "X-Login-Guard-Score"
	HeaderReasons   = "X-Login-Guard-Reasons"
	HeaderRoute     = "X-Login-Guard-Route"
	HeaderTime      = "X-Login-Guard-Time"
	HeaderUser      = "X-Login-Guard-User"
	HeaderSignature = "X-Login-Guard-Signature"
)

// Actions a signed verdict carries.
const (
	ActionAllow = "allow"
	// ActionPending is sent when the verdict is not final: the guard judges
	// the login again on the portal's answer and may still refuse it.
	ActionPending = "pending"
)

const (
	tag    = "login_guard-v2"
	prefix = "v2="
)

// Verdict is what the guard signs.
type Verdict struct {
	Route   string
	Method  string
	Path    string // as sent upstream, percent-encoded, without the query
	User    string // exactly as submitted; "" when the request had none
	Action  string // ActionAllow or ActionPending
	Score   string // "" when no engine scored the request
	Reasons string // comma-separated, "" when none
	Time    time.Time
}

// Sign returns the X-Login-Guard-Signature value for v.
func Sign(secret []byte, v Verdict) string {
	return prefix + base64.RawURLEncoding.EncodeToString(mac(secret, v))
}

func mac(secret []byte, v Verdict) []byte {
	m := hmac.New(sha256.New, secret)
	var buf []byte
	for _, f := range [...]string{tag, v.Route, v.Method, v.Path, v.User, v.Action, v.Score, v.Reasons,
		strconv.FormatInt(v.Time.Unix(), 10)} {
		buf = strconv.AppendInt(buf[:0], int64(len(f)), 10)
		buf = append(buf, ':')
		buf = append(buf, f...)
		buf = append(buf, ',')
		m.Write(buf)
	}
	return m.Sum(nil)
}

// SetHeaders replaces h's X-Login-Guard-* verdict headers with v, signed.
func SetHeaders(h http.Header, secret []byte, v Verdict) {
	h.Set(HeaderRoute, v.Route)
	h.Set(HeaderAction, v.Action)
	h.Set(HeaderScore, v.Score)
	h.Set(HeaderReasons, v.Reasons)
	h.Set(HeaderTime, strconv.FormatInt(v.Time.Unix(), 10))
	h.Set(HeaderUser, base64.RawURLEncoding.EncodeToString([]byte(v.User)))
	h.Set(HeaderSignature, Sign(secret, v))
}

// Errors Verify returns.
var (
	ErrMissing   = errors.New("upstreamsig: verdict headers missing or repeated")
	ErrMalformed = errors.New("upstreamsig: verdict headers malformed")
	ErrSignature = errors.New("upstreamsig: signature does not match")
	ErrStale     = errors.New("upstreamsig: verdict outside the freshness window")
)

// Verify checks the verdict headers of a request the portal received, for
// the method and path the portal itself saw, and that the verdict's time is
// within window of now (either way, for clock skew). It returns the
// verdict; the caller must still check Action (only ActionAllow is final)
// and that User is the user it is logging in.
func Verify(h http.Header, secret []byte, method, path string, now time.Time, window time.Duration) (Verdict, error) {
	get := func(name string) (string, bool) {
		vs := h.Values(name)
		if len(vs) != 1 {
			return "", false
		}
		return vs[0], true
	}
	var v Verdict
	var ts, user, sig string
	ok := true
	for _, p := range []struct {
		name string
		dst  *string
	}{{HeaderRoute, &v.Route}, {HeaderAction, &v.Action}, {HeaderScore, &v.Score}, {HeaderReasons, &v.Reasons},
		{HeaderTime, &ts}, {HeaderUser, &user}, {HeaderSignature, &sig}} {
		var present bool
		*p.dst, present = get(p.name)
		ok = ok && present
	}
	if !ok {
		return Verdict{}, ErrMissing
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Verdict{}, ErrMalformed
	}
	u, err := base64.RawURLEncoding.DecodeString(user)
	if err != nil {
		return Verdict{}, ErrMalformed
	}
	got, found := strings.CutPrefix(sig, prefix)
	if !found {
		return Verdict{}, ErrMalformed
	}
	gotMAC, err := base64.RawURLEncoding.DecodeString(got)
	if err != nil {
		return Verdict{}, ErrMalformed
	}
	v.Method, v.Path, v.User, v.Time = method, path, string(u), time.Unix(sec, 0)
	if !hmac.Equal(gotMAC, mac(secret, v)) {
		return Verdict{}, ErrSignature
	}
	if d := now.Sub(v.Time); d > window || d < -window {
		return Verdict{}, ErrStale
	}
	return v, nil
}
