package formbody

import (
	"slices"
	"strings"
)

// kind is what a stored field held. Objects, arrays and null are recorded
// (so a user field that is not a string can be refused) but Get does not
// return them.
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

func (k kind) scalar() bool { return k <= kindBool }

type field struct {
	name  string
	value string
	kind  kind
	// ascii is set on the fast paths when the value is known to be ASCII,
	// so resolve need not validate it again; false is "not known".
	ascii bool
}

// Fields is what the guard may see of a body: the user, the device payload
// and other scalar fields. Password fields are never in it.
type Fields struct {
	list []field

	user, device       string
	hasUser, hasDevice bool
}

// detach returns f with its strings copied out of the body's memory, so
// that memory can be zeroed (ParseHeldRequest).
func (f Fields) detach() Fields {
	f.list = slices.Clone(f.list)
	for i := range f.list {
		f.list[i].name, f.list[i].value = strings.Clone(f.list[i].name), strings.Clone(f.list[i].value)
	}
	f.user, f.device = strings.Clone(f.user), strings.Clone(f.device)
	return f
}

// User returns the user field and whether it was present (in the body, or
// in the query string when the body did not carry it).
func (f Fields) User() (string, bool) { return f.user, f.hasUser }

// Device returns the SmartID payload and whether the field was present.
// Present-but-empty means the SDK failed in the browser; absent means the
// field was stripped or never added, which rules treat differently.
func (f Fields) Device() (value string, present bool) { return f.device, f.hasDevice }

// Get returns a scalar field by form name or JSON dotted path: strings as
// decoded, numbers as their literal text, booleans as true/false. Null,
// objects, arrays, file parts and password fields are reported absent.
// When a field that is not in Spec.UniqueFields appears more than once in
// a form, Get returns the first; list a field in UniqueFields when a rule
// depends on it. Scalars inside JSON arrays have no path and are absent.
func (f Fields) Get(name string) (string, bool) {
	for i := range f.list {
		fl := &f.list[i]
		if fl.kind.scalar() && fl.name == name {
			return fl.value, true
		}
	}
	return "", false
}

// IsNumber reports whether the field Get would return is a JSON number
// (its value is then the number's literal text).
func (f Fields) IsNumber(name string) bool {
	for i := range f.list {
		fl := &f.list[i]
		if fl.kind.scalar() && fl.name == name {
			return fl.kind == kindNumber
		}
	}
	return false
}
