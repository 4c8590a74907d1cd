package formbody

import (
	"errors"
	"net/http"
	"strings"
)

// Defaults for a zero Spec.
const (
	DefaultUserField   = "username"
	DefaultDeviceField = "smartid_data"
	// DefaultMaxParts bounds a multipart body's parts (files included):
	// a login or operation form has a handful, and each part costs header
	// parsing.
	DefaultMaxParts = 100
	// DefaultMaxDepth bounds JSON nesting; a login payload is flat or one
	// level deep.
	DefaultMaxDepth = 32
)

// defaultPasswordFields is shared, never modified.
var defaultPasswordFields = []string{"password"}

// Spec says which fields the guard needs from a body and which it must
// never keep. The zero value is the SmartID login form: username,
// smartid_data and password.
type Spec struct {
	// UserField is the user name's field: a form name, or for JSON a
	// dotted path into nested objects ("credentials.username").
	// Default "username".
	UserField string
	// DeviceField is the SmartID SDK payload's field (same syntax).
	// Default "smartid_data".
	DeviceField string
	// PasswordFields are dropped while parsing: never stored in Fields,
	// never returned by Get, never named in an error. Names compare
	// ignoring case. A name without a dot also matches that key at any
	// JSON depth ("password" drops "credentials.password"), because a
	// secret hidden one level down is still a secret. Empty means
	// ["password"]; there is no way to configure "no password field",
	// on purpose.
	PasswordFields []string
	// UniqueFields are further fields the guard decides on (an operation's
	// amount or beneficiary, say). They get the same protection as the user
	// and device fields: refused when they appear twice or both in the
	// query string and the body, and taken from the query string when only
	// there. Optional.
	UniqueFields []string
	// MaxParts caps a multipart body's parts. Default DefaultMaxParts.
	MaxParts int
	// MaxDepth caps JSON nesting (objects and arrays). Default
	// DefaultMaxDepth.
	MaxDepth int
	// UnsupportedStatus is the status for a non-empty body whose content
	// type the guard cannot read. Default 415.
	UnsupportedStatus int
}

// withDefaults fills the zero fields. It does not allocate: the default
// password list is a shared slice.
func (s Spec) withDefaults() Spec {
	s.setDefaults()
	return s
}

// setDefaults is withDefaults in place, which spares a request two copies
// of the Spec.
func (s *Spec) setDefaults() {
	if s.UserField == "" {
		s.UserField = DefaultUserField
	}
	if s.DeviceField == "" {
		s.DeviceField = DefaultDeviceField
	}
	if len(s.PasswordFields) == 0 {
		s.PasswordFields = defaultPasswordFields
	}
	if s.MaxParts <= 0 {
		s.MaxParts = DefaultMaxParts
	}
	if s.MaxDepth <= 0 {
		s.MaxDepth = DefaultMaxDepth
	}
	if s.UnsupportedStatus == 0 {
		s.UnsupportedStatus = http.StatusUnsupportedMediaType
	}
}

// defaultNames reports a defaulted Spec whose guarded names are the
// package's defaults (username, smartid_data, password) and no unique
// fields, the guard's usual configuration: then every guarded name is a
// simpleName and no tracked field is a password field, which the fast
// paths know without looking at the names.
func (s *Spec) defaultNames() bool {
	return s.UserField == DefaultUserField && s.DeviceField == DefaultDeviceField && len(s.UniqueFields) == 0 &&
		len(s.PasswordFields) == 1 && s.PasswordFields[0] == defaultPasswordFields[0]
}

// Validate reports a configuration mistake, for the Caddy module's Provision or
// Validate step: a field path with an empty segment, a tracked field that is
// also a password field (it would silently never be seen), a device field
// that is the user field, a password field named twice, or a status that
// is not a 4xx.
func (s Spec) Validate() error {
	s = s.withDefaults()
	tracked := append([]string{s.UserField, s.DeviceField}, s.UniqueFields...)
	for _, name := range append(tracked, s.PasswordFields...) {
		if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return errors.New("formbody: field name " + quote(name) + " is empty or has an empty path segment")
		}
	}
	for _, name := range tracked {
		if s.isPassword(name) || s.isPasswordKey(lastSegment(name)) {
			return errors.New("formbody: field " + quote(name) + " is also a password field")
		}
	}
	// One field read as both the user and the device would hand the
	// SmartID payload the user name (a JSON body's names compare ignoring
	// case).
	if strings.EqualFold(s.UserField, s.DeviceField) {
		return errors.New("formbody: device field " + quote(s.DeviceField) + " is the user field")
	}
	for i, p := range s.PasswordFields {
		for _, q := range s.PasswordFields[:i] {
			if strings.EqualFold(p, q) {
				return errors.New("formbody: password field " + quote(p) + " given twice (names compare ignoring case)")
			}
		}
	}
	if s.UnsupportedStatus < 400 || s.UnsupportedStatus > 499 {
		return errors.New("formbody: unsupported_status must be a 4xx status")
	}
	return nil
}

// isPassword reports whether a flat form name or a full JSON path names a
// password field.
func (s *Spec) isPassword(path string) bool {
	for _, p := range s.PasswordFields {
		if strings.EqualFold(p, path) {
			return true
		}
	}
	return false
}

// isPasswordKey reports whether a JSON key at any depth is a dot-free
// password field name.
func (s *Spec) isPasswordKey(key string) bool {
	for _, p := range s.PasswordFields {
		if strings.IndexByte(p, '.') < 0 && strings.EqualFold(p, key) {
			return true
		}
	}
	return false
}

// trackedCount is how many fields get duplicate and query protection.
func (s *Spec) trackedCount() int { return 2 + len(s.UniqueFields) }

// tracked returns the i-th protected field: user, device, then UniqueFields.
func (s *Spec) tracked(i int) string {
	switch i {
	case 0:
		return s.UserField
	case 1:
		return s.DeviceField
	}
	return s.UniqueFields[i-2]
}

func quote(s string) string { return "\"" + s + "\"" }
