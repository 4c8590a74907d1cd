package formbody

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// keySet detects two keys of one JSON object that are equal after
// unescaping and Unicode simple case folding (the equivalence of
// strings.EqualFold, which is what case-insensitive decoders apply). A
// small object is checked pairwise without allocating; past smallKeys the
// set switches to a map of fold keys so a body with thousands of keys stays
// linear.
type keySet struct {
	n     int
	small [smallKeys]string
	big   map[string]struct{}
}

const smallKeys = 8

// add records key and reports false when an equal key was already there.
func (ks *keySet) add(key string) bool {
	if ks.big == nil {
		for _, k := range ks.small[:ks.n] {
			if strings.EqualFold(k, key) {
				return false
			}
		}
		if ks.n < smallKeys {
			ks.small[ks.n] = key
			ks.n++
			return true
		}
		ks.big = make(map[string]struct{}, 2*smallKeys)
		for _, k := range ks.small {
			ks.big[foldKey(k)] = struct{}{}
		}
	}
	fk := foldKey(key)
	if _, dup := ks.big[fk]; dup {
		return false
	}
	ks.big[fk] = struct{}{}
	return true
}

// foldKey maps each rune to the smallest rune of its case-folding orbit,
// so two strings are EqualFold exactly when their fold keys are equal.
// Input is valid UTF-8 (the string decoder refuses anything else).
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		// The orbit minimum of an ASCII letter is its upper case
		// (K, S included: their other members are above 0x7F).
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
