package formbody

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The reading policy. A body is passed only when every mainstream parser
// (PHP, Django, Werkzeug, Rack, Express with qs/body-parser/multer/busboy,
// Go's net/http, and the documented behaviour of Spring and ASP.NET) would
// read the same guarded fields from it as the guard: the user, the device
// payload, the password fields and Spec.UniqueFields (operation fields, the
// assertion). Everything else is refused with a stable reason. The rules,
// each enforced in one place:
//
//   - Names (nameKey, Spec.checkName): a name that some framework could
//     normalise onto a guarded name without being exactly that name is
//     refused, in the body and in the query string alike; in a JSON body,
//     a guarded field's key at another path too (Fields.checkWrapped).
//   - Values (Fields.resolve): a guarded value must be valid UTF-8.
//   - Charsets (checkCharset): UTF-8 or none; us-ascii only when the body
//     reads the same as UTF-8.
//   - Media types and multipart framing (mediatype.go, multipart.go): one
//     grammar, the strictest the parsers share.

// nameKey is a lenient reading of a field name that mainstream frameworks
// apply, as a key in which names a framework could take for the same
// field are equal. checkName compares two readings, since frameworks
// disagree on what '[' and '.' mean:
//
//   - everything from a NUL on is dropped (PHP truncates there);
//   - leading and trailing white space, control and format characters are
//     dropped (PHP strips leading spaces, a '+' decodes to one);
//   - with nested set, '[', ']' and '.' separate path segments (PHP and
//     Rack build nested arrays from brackets, qs as well, Spring and
//     ASP.NET bind "a.b" like "a[b]"); runs of separators count as one, so
//     "user[]" and "user[0]" begin with the segment "user";
//   - without it, '.', ' ' and '[' are '_' (PHP turns dots and spaces in
//     names into underscores, and so a '[' that is never closed);
//   - ' ' and '_' are one character in both;
//   - letters compare by Unicode simple case folding (ASP.NET's form keys
//     are case-insensitive).
//
// Segments are joined with a NUL, which the first rule keeps out of them.
func nameKey(s string, nested bool) string {
	if simpleName(s) {
		return s
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimFunc(s, ignorableInName)
	var b strings.Builder
	b.Grow(len(s))
	sep := false
	for _, r := range s {
		switch {
		case nested && (r == '[' || r == ']' || r == '.'):
			sep = true
			continue
		case r == ' ' || r == '.' || r == '[':
			r = '_'
		}
		if sep {
			if b.Len() > 0 {
				b.WriteByte(0)
			}
			sep = false
		}
		b.WriteRune(keyRune(r))
	}
	return b.String()
}

// simpleName reports names that are their own key: lower-case ASCII
// letters, digits, '_' and '-'. Login forms use such names, so the common
// case costs no allocation.
func simpleName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !simpleNameByte[s[i]] {
			return false
		}
	}
	return s != ""
}

var simpleNameByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

func ignorableInName(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// keysOverlap reports whether two name keys could name the same field or
// one a part of the other (a guarded "user[email]" and a body "user", or a
// guarded "username" and a body "username[0]").
func keysOverlap(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a) && (len(a) == len(b) || b[len(a)] == 0)
}

// guardedCount is how many names the policy protects: the tracked fields
// and the password fields.
func (s *Spec) guardedCount() int { return s.trackedCount() + len(s.PasswordFields) }

func (s *Spec) guarded(i int) string {
	if i < s.trackedCount() {
		return s.tracked(i)
	}
	return s.PasswordFields[i-s.trackedCount()]
}

// checkName refuses a form, multipart or query name that is not a guarded
// name but that some framework could read as one (or as part of one). An
// exact guarded name passes: it is the field itself (for a password name,
// ignoring case, since the parsers drop those ignoring case). A name that is not
// valid UTF-8 is refused too: frameworks that decode names replace the bad
// bytes, others keep them.
func (s *Spec) checkName(name string) error {
	if !utf8.ValidString(name) {
		return malformed(ReasonInvalidUTF8, "a field name is not valid UTF-8")
	}
	nk, nu := nameKey(name, true), nameKey(name, false)
	for i := range s.guardedCount() {
		g := s.guarded(i)
		if name == g || i >= s.trackedCount() && strings.EqualFold(name, g) {
			// The field itself; password names are dropped ignoring case.
			continue
		}
		if keysOverlap(nk, nameKey(g, true)) || keysOverlap(nu, nameKey(g, false)) {
			return fieldError(ReasonAmbiguousName, g, "a field name some frameworks read as %q")
		}
	}
	return nil
}

// checkJSONName is checkName for a JSON key: path is its dotted path and
// key the key itself. A path matches a configured dotted path exactly only
// when no key on it contains a '.' itself (dotted is set then): JSON
// parsers read {"a.b": 1} as one key, the guard's path syntax would not.
// Password names without a dot match the key at any depth. Unlike a form
// name, a JSON path that is only a prefix of a guarded one is its
// container, not a competing reading, so keys must be equal to conflict.
func (s *Spec) checkJSONName(path, key string, dotted bool) error {
	pk, kk := "", ""
	for i := range s.guardedCount() {
		g := s.guarded(i)
		isPW := i >= s.trackedCount()
		if isPW && (strings.EqualFold(path, g) || strings.IndexByte(g, '.') < 0 && strings.EqualFold(key, g)) {
			continue // dropped, ignoring case
		}
		if isPW && strings.IndexByte(g, '.') < 0 {
			if kk == "" {
				kk = nameKey(key, false)
			}
			if kk == nameKey(g, false) {
				return fieldError(ReasonAmbiguousName, g, "a JSON key some decoders read as %q")
			}
			continue
		}
		if path == g && !dotted {
			continue
		}
		if pk == "" {
			pk = nameKey(path, true)
		}
		if pk == nameKey(g, true) {
			return fieldError(ReasonAmbiguousName, g, "a JSON key some decoders read as %q")
		}
	}
	return nil
}

// isGuarded reports an exact guarded name (tracked or password; password
// names compare ignoring case, as isPassword does).
func (s *Spec) isGuarded(name string) bool {
	for i := range s.trackedCount() {
		if s.tracked(i) == name {
			return true
		}
	}
	return s.isPassword(name)
}

// keyRune maps every rune of a case-folding orbit to one rune, lower case
// for ASCII letters so that simpleName's fast path agrees.
func keyRune(r rune) rune {
	r = foldRune(r)
	if 'A' <= r && r <= 'Z' {
		r += 'a' - 'A'
	}
	return r
}
