package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
)

// Headers the guard adds to an allowed request when the route sets
// `upstream_headers <secret>`. The client's copies were stripped on entry.
const (
	headerAction    = "X-Login-Guard-Action"
	headerScore     = "X-Login-Guard-Score"
	headerReasons   = "X-Login-Guard-Reasons"
	headerRoute     = "X-Login-Guard-Route"
	headerTime      = "X-Login-Guard-Time"
	headerSignature = "X-Login-Guard-Signature"
)

// setUpstreamHeaders tells the portal what the guard decided, signed so
// that a request reaching the portal some other way cannot claim a
// verdict: Signature = base64url(HMAC-SHA256(secret,
// route "\n" action "\n" score "\n" reasons "\n" time)), time in Unix
// seconds, score empty when no engine gave one.
func (x *exchange) setUpstreamHeaders(r *http.Request) {
	secret := x.h.upstreamSecret
	if len(secret) == 0 {
		return
	}
	v := &x.verdict
	score := ""
	if v.HasScore {
		score = strconv.FormatFloat(v.Score, 'f', -1, 64)
	}
	ts := strconv.FormatInt(x.start.Unix(), 10)
	reasons := v.ReasonList()
	m := hmac.New(sha256.New, secret)
	for i, part := range []string{x.h.Name, v.Action.String(), score, reasons, ts} {
		if i > 0 {
			m.Write([]byte{'\n'})
		}
		m.Write([]byte(part))
	}
	h := r.Header
	h.Set(headerRoute, x.h.Name)
	h.Set(headerAction, v.Action.String())
	h.Set(headerScore, score)
	h.Set(headerReasons, reasons)
	h.Set(headerTime, ts)
	h.Set(headerSignature, base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
}
