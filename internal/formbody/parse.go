package formbody

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Parse reads the fields the guard needs from a body already read by Read.
// contentType is the request's Content-Type header; query is the URL's
// query string, because apps that merge query and body parameters would
// read a field from there too.
//
// An empty body yields no body fields whatever the content type. A
// non-empty body must be application/x-www-form-urlencoded,
// multipart/form-data or application/json, the media type in lower case;
// anything else is refused with spec.UnsupportedStatus, and the reading
// policy (policy.go) refuses what some framework would read differently.
//
// The user, device and Spec.UniqueFields are refused when they appear
// twice (in the body, or twice in the query) or both in the query and the
// body; when only in the query they are taken from there. Password fields
// are dropped while parsing.
func Parse(contentType string, body []byte, query url.Values, spec Spec) (Fields, error) {
	rd := reading{spec: spec}
	rd.spec.setDefaults()
	if len(body) > 0 {
		// One copy, which the caller can not modify.
		rd.setBody(append([]byte(nil), body...))
	}
	return rd.parse(contentType, query)
}

// reading is one parse of a body: the body and where its decoded values
// and fields go.
type reading struct {
	spec Spec // a copy: a pointer would escape with the fields, and cost an allocation
	// general turns the fast paths (fastpath.go) off, so that the
	// differential test can compare the two readings of every body.
	general bool
	// simpleGuards is set when every guarded name is a simpleName (see
	// reading.checkName).
	simpleGuards bool
	// defaultNames is set on the fast path when the guarded names are the
	// defaults (Spec.defaultNames), which implies simpleGuards.
	defaultNames bool
	// body is the body as a string that shares the bytes the guard read:
	// nothing writes them once read, so field names and values are slices
	// of it without a copy.
	body string
	// scratch is the spare capacity after the body's bytes: decoded values
	// are appended to it only when they fit, so it is never reallocated
	// and a value decoded into it is never overwritten.
	scratch []byte
	// list is storage for the fields, used when it holds them all.
	list []field
}

// setBody makes buf (the body, with spare capacity after it) the body to
// parse. buf must not be written afterwards.
func (rd *reading) setBody(buf []byte) {
	if len(buf) == 0 {
		return
	}
	rd.body = unsafe.String(&buf[0], len(buf))
	rd.scratch = buf[len(buf):]
}

// fieldList returns an empty list with room for n fields.
func (rd *reading) fieldList(n int) []field {
	if n <= cap(rd.list) {
		return rd.list[:0]
	}
	return make([]field, 0, n)
}

// spareFor is the room to leave after a body of n bytes for its decoded
// values: none for multipart, whose values are slices of the body, nor
// past maxSpare, where a body without escapes would cost twice its size
// (a value that does not fit gets an allocation of its own).
func spareFor(contentType string, n int64) int64 {
	if n > maxSpare || strings.HasPrefix(contentType, "multipart/") {
		return 0
	}
	return n
}

const maxSpare = 4 << 10

// parse is Parse on rd.body, with spec already defaulted.
func (rd *reading) parse(contentType string, query url.Values) (Fields, error) {
	spec := &rd.spec
	rd.defaultNames = !rd.general && spec.defaultNames()
	rd.simpleGuards = rd.defaultNames || !rd.general && spec.simpleGuards()
	var f Fields
	asciiOnly, isJSON := false, false
	if len(rd.body) > 0 {
		mt, err := rd.classify(contentType)
		if err != nil {
			return Fields{}, err
		}
		if mt.asciiOnly && !isASCII(rd.body) {
			return Fields{}, newError(http.StatusUnsupportedMediaType, ReasonCharset,
				"request body declares us-ascii but is not ASCII")
		}
		asciiOnly = mt.asciiOnly
		switch mt.format {
		case formatURLEncoded:
			f, err = rd.parseURLEncoded()
		case formatMultipart:
			f, err = parseMultipart(rd.body, mt.boundary, spec)
		case formatJSON:
			f, err = rd.parseJSON()
			isJSON = true
		}
		if err != nil {
			return Fields{}, err
		}
	}
	if err := f.resolve(query, rd, asciiOnly, isJSON); err != nil {
		return Fields{}, err
	}
	if isJSON {
		if err := f.checkWrapped(query, spec); err != nil {
			return Fields{}, err
		}
	}
	return f, nil
}

// resolve enforces the tracked-field rules over the parsed body and the
// query string, and fills User and Device. Query names get the same name
// check as body names, and a guarded value must be valid UTF-8 (ASCII
// under charset=us-ascii): frameworks that decode replace bad bytes with
// U+FFFD, others keep them.
func (f *Fields) resolve(query url.Values, rd *reading, asciiOnly, isJSON bool) error {
	spec := &rd.spec
	if len(query) > 0 {
		// Of several names refused, the least: the answer does not
		// depend on the map's order.
		var refused error
		refusedName := ""
		for name := range query {
			if err := rd.checkName(name); err != nil && (refused == nil || name < refusedName) {
				refused, refusedName = err, name
			}
		}
		if refused != nil {
			return refused
		}
	}
	for i := range spec.trackedCount() {
		name := spec.tracked(i)
		if rd.isPasswordName(name) {
			// A misconfiguration Validate reports; never pull a
			// password from the query string into Fields.
			continue
		}
		idx, count := -1, 0
		for j := range f.list {
			if f.list[j].name == name {
				if count == 0 {
					idx = j
				}
				count++
			}
		}
		if count > 1 {
			return fieldError(ReasonDuplicateField, name, "field %q appears twice")
		}
		if qv, inQuery := query[name]; inQuery {
			switch {
			case count > 0, isJSON:
				// JSON frameworks never read the query string for a
				// body field; Rails' params merges it.
				return fieldError(ReasonQueryConflict, name, "field %q appears in both the query string and the body")
			case len(qv) > 1:
				return fieldError(ReasonDuplicateField, name, "field %q appears twice")
			}
			f.list = append(f.list, field{name: name, value: qv[0], kind: kindString})
			idx = len(f.list) - 1
		}
		if idx < 0 {
			continue
		}
		fl := &f.list[idx]
		if !fl.ascii && (!utf8.ValidString(fl.value) || asciiOnly && !isASCII(fl.value)) {
			return fieldError(ReasonInvalidUTF8, name, "field %q is not valid UTF-8 (or not ASCII under charset us-ascii)")
		}
		if fl.kind == kindNumber && !plainJSONNumber(fl.value) {
			return fieldError(ReasonAmbiguousNumber, name, "field %q is a number decoders read differently")
		}
		if i > 1 {
			// A unique field may also be a JSON number (an amount); a
			// boolean, null, object or array is read as something else by
			// every decoder.
			if fl.kind != kindString && fl.kind != kindNumber {
				return fieldError(ReasonFieldNotString, name, "field %q is not a string or a number")
			}
			continue
		}
		if fl.kind != kindString {
			return fieldError(ReasonFieldNotString, name, "field %q is not a string")
		}
		if i == 0 {
			f.user, f.hasUser = fl.value, true
		} else {
			f.device, f.hasDevice = fl.value, true
		}
	}
	return nil
}

func lastSegment(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plainJSONNumber reports a JSON number every decoder reads as the same
// value: plain decimal digits (no exponent) and at most 15 significant
// digits, which a float64 (JavaScript, PHP) holds exactly as Python's and
// Ruby's exact numbers do.
func plainJSONNumber(s string) bool {
	return PlainDecimal(s) && significantDigits(s) <= 15
}
