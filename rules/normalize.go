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
	// CaseSensitive keeps the case of user names. They are still trimmed
	// and NFKC-normalised.
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
// strips from its ends trimmed (see trimmable), Unicode NFKC, and
// case-folded unless CaseSensitive. ASCII names take a fast path that does
// not allocate when the name is already in normal form.
func (n Normalizer) User(s string) string {
	if isASCII(s) {
		return n.asciiUser(s)
	}
	s = norm.NFKC.String(strings.TrimFunc(s, trimmable))
	if !n.CaseSensitive {
		c := foldPool.Get().(*cases.Caser)
		s = c.String(s)
		foldPool.Put(c)
		// Folding can produce sequences NFKC would compose differently.
		s = norm.NFKC.String(s)
	}
	return strings.TrimFunc(s, trimmable)
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
