package formbody

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// parseJSON is a strict, single-pass JSON reader. It exists (instead of
// encoding/json) because the guard must refuse what decoders disagree on,
// which encoding/json silently accepts: duplicate keys (last wins there,
// first wins elsewhere), keys equal ignoring case (encoding/json matches
// struct fields case-insensitively), invalid UTF-8 and lone surrogates
// (replaced by U+FFFD there, kept by JavaScript), trailing data, and
// unbounded nesting. Scalars are recorded under their dotted path;
// containers are recorded by kind only, so a user field holding an object
// can be refused. Nothing under a password key is recorded.
func (rd *reading) parseJSON() (Fields, error) {
	p := jsonParser{s: rd.body, spec: rd.spec, simpleGuards: rd.simpleGuards, general: rd.general, scratch: rd.scratch}
	p.f.list = rd.fieldList(min(strings.Count(p.s, ":"), 32))
	p.skipSpace()
	if err := p.value("", true, false); err != nil {
		return Fields{}, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return Fields{}, malformed(ReasonTrailingData, "JSON body has data after its value")
	}
	return p.f, nil
}

type jsonParser struct {
	s     string
	i     int
	depth int
	spec  Spec // a copy: a pointer would escape through the recursion and cost an allocation
	f     Fields

	// What the reading holds (see reading): the fast paths' switches, and
	// the room for decoded strings.
	simpleGuards, general bool
	scratch               []byte
}

func (p *jsonParser) syntaxError() error {
	return malformed(ReasonMalformedJSON, fmt.Sprintf("JSON body does not parse (at byte %d)", p.i))
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// record stores a value under path when it has one and is being kept.
func (p *jsonParser) record(path string, keep bool, value string, k kind) {
	if keep && path != "" {
		p.f.list = append(p.f.list, field{name: path, value: value, kind: k})
	}
}

// value parses one JSON value at p.i. path is its dotted path ("" at the
// top level and inside arrays); keep is false under a password key or
// inside an array, where nothing is recorded.
func (p *jsonParser) value(path string, keep, dotted bool) error {
	if p.i >= len(p.s) {
		return p.syntaxError()
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.record(path, keep, "", kindObject)
		return p.object(path, keep, dotted)
	case c == '[':
		p.record(path, keep, "", kindArray)
		return p.array()
	case c == '"':
		v, ascii, err := p.str()
		if err != nil {
			return err
		}
		if keep && path != "" {
			// record, with what str knows of the value for resolve: on
			// the fast path only, so the differential test compares it
			// with a reading that validates every value.
			p.f.list = append(p.f.list, field{name: path, value: v, kind: kindString, ascii: ascii && !p.general})
		}
	case c == '-' || '0' <= c && c <= '9':
		v, err := p.number()
		if err != nil {
			return err
		}
		p.record(path, keep, v, kindNumber)
	default:
		for _, lit := range [...]struct {
			text string
			k    kind
		}{{"true", kindBool}, {"false", kindBool}, {"null", kindNull}} {
			if strings.HasPrefix(p.s[p.i:], lit.text) {
				p.i += len(lit.text)
				v := lit.text
				if lit.k == kindNull {
					v = ""
				}
				p.record(path, keep, v, lit.k)
				return nil
			}
		}
		return p.syntaxError()
	}
	return nil
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > p.spec.MaxDepth {
		return malformed(ReasonTooDeep, fmt.Sprintf("JSON body nests deeper than %d levels", p.spec.MaxDepth))
	}
	p.i++ // the opening bracket
	p.skipSpace()
	return nil
}

func (p *jsonParser) array() error {
	if err := p.enter(); err != nil {
		return err
	}
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return nil
	}
	for {
		if err := p.value("", false, false); err != nil {
			return err
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return p.syntaxError()
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case ']':
			p.i++
			p.depth--
			return nil
		default:
			return p.syntaxError()
		}
	}
}

func (p *jsonParser) object(path string, keep, dotted bool) error {
	if err := p.enter(); err != nil {
		return err
	}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.depth--
		return nil
	}
	var keys keySet
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return p.syntaxError()
		}
		key, _, err := p.str()
		if err != nil {
			return err
		}
		childPath := ""
		if keep {
			childPath = key
			if path != "" {
				childPath = path + "." + key
			}
		}
		if !keys.add(key) {
			return p.duplicate(childPath)
		}
		childDotted := dotted || strings.IndexByte(key, '.') >= 0
		// A kept top-level key that is a simpleName, with simple guarded
		// names: p.checkName passes it, and the password check below
		// (isPasswordKey on the key, isPassword on the path, which is the
		// key) compares simpleNames ignoring case, which is comparing
		// them (see reading.formPairsFast).
		simple := keep && p.simpleKey(childPath, key, childDotted)
		if keep && !simple {
			if err := p.checkName(childPath, key, childDotted); err != nil {
				return err
			}
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return p.syntaxError()
		}
		p.i++
		p.skipSpace()
		var childKeep bool
		if simple {
			childKeep = !slices.Contains(p.spec.PasswordFields, key)
		} else {
			childKeep = keep && !p.spec.isPasswordKey(key) && !p.spec.isPassword(childPath)
		}
		if err := p.value(childPath, childKeep, childDotted); err != nil {
			return err
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return p.syntaxError()
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case '}':
			p.i++
			p.depth--
			return nil
		default:
			return p.syntaxError()
		}
	}
}

// duplicate names the configured field when the repeated key is one the
// guard decides on, and stays generic otherwise: a key from the body is
// body content and is never put in an error.
func (p *jsonParser) duplicate(path string) error {
	if path != "" {
		for i := range p.spec.trackedCount() {
			if name := p.spec.tracked(i); strings.EqualFold(name, path) {
				return fieldError(ReasonDuplicateField, name, "field %q appears twice")
			}
		}
	}
	return newError(http.StatusBadRequest, ReasonDuplicateKey,
		"JSON object has two keys that are equal ignoring case")
}

// number scans an RFC 8259 number and returns its literal text.
func (p *jsonParser) number() (string, error) {
	s, start := p.s, p.i
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		p.i = i
		return "", p.syntaxError()
	}
	if i < len(s) && s[i] == '.' {
		if i+1 >= len(s) || !isDigit(s[i+1]) {
			p.i = i
			return "", p.syntaxError()
		}
		i = skipDigits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			p.i = i
			return "", p.syntaxError()
		}
		i = skipDigits(s, i)
	}
	p.i = i
	return s[start:i], nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
