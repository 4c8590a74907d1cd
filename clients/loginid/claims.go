package loginid

import (
	"encoding/json"
	"errors"
	"math"
	"time"
)

// Claims is what a verified token says. Only the fields Verify checked are
// trustworthy as such; the rest are copied for audit lines.
type Claims struct {
	// User is the UserClaim value, byte-equal to the expected user.
	User string
	// Type is the TypeClaim value, one of Config.AuthenticationTypes (of
	// Config.RegistrationTypes for VerifyRegistration).
	Type string
	// Namespace is the NamespaceClaim value ("" when absent and not
	// required).
	Namespace string
	// Nonce is the NonceClaim value; "" when the token has none, in which
	// case replay was keyed on the token's signing input.
	Nonce string
	// Issuer, Subject, Audience and ID are the registered claims iss,
	// sub, aud and jti, as present.
	Issuer   string
	Subject  string
	Audience []string
	ID       string
	// KeyID is the header's kid.
	KeyID string
	// IssuedAt and Expiry are iat and exp.
	IssuedAt time.Time
	Expiry   time.Time
}

// rawClaims is the decoded payload: claim name → raw JSON value.
type rawClaims map[string]json.RawMessage

var errClaimType = errors.New("claim has the wrong JSON type")

// str reads a string claim. ok is false when the claim is absent or null.
func (r rawClaims) str(name string) (s string, ok bool, err error) {
	raw, present := r[name]
	if !present || string(raw) == "null" {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, errClaimType
	}
	return s, true, nil
}

// maxNumericDate is the start of year 10000: later dates are nonsense and
// would overflow time arithmetic.
const maxNumericDate = 253402300800

// date reads a NumericDate (seconds since the epoch, integer or fraction).
func (r rawClaims) date(name string) (t time.Time, ok bool, err error) {
	raw, present := r[name]
	if !present || string(raw) == "null" {
		return time.Time{}, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, false, errClaimType
	}
	if math.IsNaN(f) || f < 0 || f >= maxNumericDate {
		return time.Time{}, false, errClaimType
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// audience reads aud, a string or an array of strings (RFC 7519 4.1.3).
func (r rawClaims) audience() ([]string, error) {
	raw, present := r["aud"]
	if !present || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > 0 && raw[0] == '[' {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errClaimType
		}
		return list, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errClaimType
	}
	return []string{s}, nil
}
