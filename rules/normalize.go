package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// DefaultIPv6Prefix is how many leading bits of an IPv6 client address
// identify it for counting: one /64 is one host or one home network, and a
// single host can rotate through its whole /64 at will.
const DefaultIPv6Prefix = 64

// maxUserKey bounds a user name's bytes inside a counter key; longer names
// are replaced by a digest so a flood of huge names cannot blow the store's
// per-key memory estimate.
const maxUserKey = 128

// Normalizer turns the user and address of an attempt into counting keys,
// so that "JLopez " and "jlopez", or one host's many IPv6 addresses,
// share a counter. The zero value uses the defaults.
type Normalizer struct {
	// IPv6Prefix is the prefix length IPv6 clients are counted by
	// (default 64, range 1..128).
	IPv6Prefix int
	// IPv4Prefix is the prefix length IPv4 clients are counted by
	// (default 32, range 1..32).
	IPv4Prefix int
	// CaseSensitive keeps the case and the accents of user names. They
	// are still trimmed, NFKC-normalised and rid of ignorable characters.
	CaseSensitive bool
}

// Validate reports a prefix length out of range.
func (n Normalizer) Validate() error {
	if n.IPv6Prefix < 0 || n.IPv6Prefix > 128 {
		return fmt.Errorf("ipv6 prefix /%d out of range 1..128", n.IPv6Prefix)
	}
	if n.IPv4Prefix < 0 || n.IPv4Prefix > 32 {
		return fmt.Errorf("ipv4 prefix /%d out of range 1..32", n.IPv4Prefix)
	}
	return nil
}

// IP returns the prefix a client address is counted under: IPv4 (and
// IPv4-mapped IPv6) by IPv4Prefix, IPv6 by IPv6Prefix. An invalid address
// gives an invalid prefix.
func (n Normalizer) IP(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	bits := n.IPv6Prefix
	if bits == 0 {
		bits = DefaultIPv6Prefix
	}
	if a.Is4() {
		bits = n.IPv4Prefix
		if bits == 0 {
			bits = 32
		}
	}
	p, _ := a.Prefix(bits)
	return p
}

// User returns the counting form of a user name: what some framework
// strips from its ends trimmed (see trimmable), Unicode NFKC, what a
// database collation gives no weight dropped wherever it stands (see
// ignorable), and, unless CaseSensitive, case-folded with its accents
// folded (see diacritic). ASCII names take a fast path that does not
// allocate when the name is already in normal form.
//
// MySQL's default collations (utf8mb4_0900_ai_ci, utf8mb4_unicode_ci,
// utf8mb4_general_ci) find the account "jlopez" under "JLópez" or
// "jl\u200bopez" too; a counter per spelling would give an attacker a
// fresh allowance per spelling. Folding more than a portal does only
// makes distinct names share a counter, which gives nobody a lockout they
// could not cause by typing the name itself.
func (n Normalizer) User(s string) string {
	if isASCII(s) {
		return n.asciiUser(s)
	}
	if !n.CaseSensitive {
		s = foldCollationLetters(s)
	}
	s = norm.NFKC.String(strings.TrimFunc(s, trimmable))
	if !n.CaseSensitive {
		c := foldPool.Get().(*cases.Caser)
		s = c.String(s)
		foldPool.Put(c)
	}
	s = n.dropWeightless(s)
	return strings.TrimFunc(s, trimmable)
}

// dropWeightless removes, from a name in NFKC, the ignorable characters
// and (unless CaseSensitive) the diacritics of its decomposed form, and
// recomposes it. Recomposing also settles what folding left in a form
// NFKC would compose differently.
func (n Normalizer) dropWeightless(s string) string {
	d := norm.NFD.String(s)
	b := make([]byte, 0, len(d))
	for _, r := range d {
		if ignorable(r) || (!n.CaseSensitive && diacritic(r)) {
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	return norm.NFKC.String(string(b))
}

// ignorable is what Unicode collation gives no weight and a reader does
// not see: controls, format characters (zero-width space and joiners,
// word joiner, BOM, bidi marks), variation selectors and the other
// default-ignorable code points (combining grapheme joiner, Hangul
// fillers).
func ignorable(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// diacritic is a combining mark from the blocks of generic diacritics
// (acute, grave, caron, ring, cedilla, ...), which accent-insensitive
// collations weigh only at the secondary level. Marks that are letters of
// their script (Indic vowel signs) are kept.
func diacritic(r rune) bool { return unicode.Is(diacriticBlocks, r) }

var diacriticBlocks = &unicode.RangeTable{R16: []unicode.Range16{
	{Lo: 0x0300, Hi: 0x036f, Stride: 1}, // Combining Diacritical Marks
	{Lo: 0x1ab0, Hi: 0x1aff, Stride: 1}, // ... Extended
	{Lo: 0x1dc0, Hi: 0x1dff, Stride: 1}, // ... Supplement
	{Lo: 0x20d0, Hi: 0x20ff, Stride: 1}, // ... for Symbols
	{Lo: 0xfe20, Hi: 0xfe2f, Stride: 1}, // Combining Half Marks
}}

// collationLetters are the Latin letters that carry no combining accent
// in Unicode, but that the Unicode Collation Algorithm weighs as a base
// letter (or two) at the primary level, as accent-insensitive collations
// compare: MySQL's utf8mb4_0900_ai_ci finds "jlopez" under "jłopez" and
// "bjorn" under "bjørn". The accent folding above cannot see them (they
// do not decompose), so they are spelled out: the letters of U+0080 to
// U+2FFF whose root collation (CLDR, as golang.org/x/text/collate has it)
// equals, ignoring accents, case and width, that of a string of one or two
// ASCII letters; TestCollationLettersMatchTheCollator keeps the table
// true. Applied before NFKC, so that "ŀ" is not first split into "l·".
var collationLetters = map[rune]string{
	'Æ': "ae", 'æ': "ae", 'Ǣ': "ae", 'ǣ': "ae", 'Ǽ': "ae", 'ǽ': "ae", 'ᴭ': "ae",
	'Ð': "d", 'ð': "d", 'ᶞ': "d", 'Đ': "d", 'đ': "d",
	'Ø': "o", 'ø': "o", 'Ǿ': "o", 'ǿ': "o",
	'Ħ': "h", 'ħ': "h", 'ℏ': "h",
	'Ŀ': "l", 'ŀ': "l", 'Ł': "l", 'ł': "l",
	'Œ': "oe", 'œ': "oe",
	'ƍ': "zw", 'ƾ': "ts", 'ʦ': "ts", 'ȸ': "db", 'ȹ': "qp", 'ʣ': "dz",
	'ʪ': "ls", 'ʫ': "lz", 'ᵹ': "g", 'ᵺ': "th", 'Ỻ': "ll", 'ỻ': "ll",
}

// foldCollationLetters replaces the collationLetters in s; s itself when
// it has none (the common case: no copy).
func foldCollationLetters(s string) string {
	for i, r := range s {
		if _, ok := collationLetters[r]; !ok {
			continue
		}
		b := make([]byte, 0, len(s))
		b = append(b, s[:i]...)
		for _, r := range s[i:] {
			if base, ok := collationLetters[r]; ok {
				b = append(b, base...)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
		return string(b)
	}
	return s
}

// trimmable is what a portal's framework may strip from the ends of a
// user name before looking it up: Go's white space, every C0 control and
// DEL (PHP's trim and Ruby's strip remove NUL, Python's strip, which
// Django's form fields apply, removes U+001C to U+001F), and format
// characters (Laravel's TrimStrings removes U+FEFF, U+200B and U+200E).
// Counting a name with them as the name without them keeps an attacker
// from spreading one user's attempts over fresh counters ("victim\x1f",
// "victim\x1f\x1f", ...) that the portal reads as one user.
func trimmable(r rune) bool {
	return r < 0x20 || r == 0x7f || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// asciiTrimmable is trimmable for a byte of an ASCII name: white space,
// controls and DEL.
func asciiTrimmable(c byte) bool { return c <= ' ' || c == 0x7f }

// foldPool holds case folders: a cases.Caser keeps state and must not be
// shared between goroutines.
var foldPool = sync.Pool{New: func() any { c := cases.Fold(); return &c }}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (n Normalizer) asciiUser(s string) string {
	for len(s) > 0 && asciiTrimmable(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && asciiTrimmable(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	for i := 0; i < len(s); i++ {
		if asciiTrimmable(s[i]) && s[i] != ' ' {
			// A control inside (see ignorable): rare, so the copy is
			// left to this path.
			s = strings.Map(func(r rune) rune {
				if r < ' ' || r == 0x7f {
					return -1
				}
				return r
			}, s)
			break
		}
	}
	if n.CaseSensitive {
		return s
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// userKey bounds a normalised user name for use inside a key.
func userKey(u string) string {
	if len(u) <= maxUserKey {
		return u
	}
	sum := sha256.Sum256([]byte(u))
	return "#" + hex.EncodeToString(sum[:16])
}
