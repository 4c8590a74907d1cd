package rules

import (
	"net/netip"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

func TestNormalizeUser(t *testing.T) {
	tests := []struct {
		name string
		n    Normalizer
		in   string
		want string
	}{
		{"plain", Normalizer{}, "jlopez", "jlopez"},
		{"case and trailing space", Normalizer{}, "JLopez ", "jlopez"},
		{"tabs and newlines", Normalizer{}, "\t jlopez\n", "jlopez"},
		{"fullwidth letters (NFKC)", Normalizer{}, "ＪＬｏｐｅｚ", "jlopez"},
		{"kelvin sign folds to k", Normalizer{}, "\u212Aim", "kim"},
		{"sharp s folds", Normalizer{}, "Straße", "strasse"},
		{"composed and decomposed e-acute agree", Normalizer{}, "Jose\u0301", "jose"},
		{"non-breaking space trimmed", Normalizer{}, "\u00a0jlopez\u00a0", "jlopez"},
		{"case sensitive keeps case", Normalizer{CaseSensitive: true}, " JLopez ", "JLopez"},
		{"case sensitive still NFKC", Normalizer{CaseSensitive: true}, "ＪＬ", "JL"},
		{"empty", Normalizer{}, "   ", ""},
		// What portals' frameworks strip from the ends (checked against
		// PHP's trim, Python's strip as Django's CharField applies it, and
		// Laravel's TrimStrings): one user, one counter.
		{"NUL (PHP trim, Ruby strip)", Normalizer{}, "\x00mallory\x00", "mallory"},
		{"unit separator (Python strip)", Normalizer{}, "mallory\x1f\x1c", "mallory"},
		{"DEL and vertical tab", Normalizer{}, "\x0bmallory\x7f", "mallory"},
		{"zero-width space and BOM (Laravel)", Normalizer{}, "\ufeffmallory\u200b\u200e", "mallory"},
		{"controls around a non-ASCII name", Normalizer{}, "\x00Ｍallory\x1f", "mallory"},
		// Inside the name: MySQL's default collations (utf8mb4_0900_ai_ci,
		// utf8mb4_unicode_ci, utf8mb4_general_ci) compare accents as equal,
		// and UCA collations give controls and format characters no weight,
		// so a portal on them finds one account under every such spelling;
		// counted apart, each spelling would be a fresh allowance.
		{"a control inside is dropped", Normalizer{}, "mal\x00lory", "mallory"},
		{"DEL inside is dropped", Normalizer{}, "mal\x7flory", "mallory"},
		{"zero-width characters inside are dropped", Normalizer{}, "vic\u200bt\u2060i\u200dm\ufeff", "victim"},
		{"variation selector and grapheme joiner dropped", Normalizer{}, "vi\ufe0fct\u034fim", "victim"},
		{"accents fold (MySQL ai/ci)", Normalizer{}, "JLópez", "jlopez"},
		{"decomposed accents fold", Normalizer{}, "jlo\u0301pe\u0300z", "jlopez"},
		{"stacked diacritics fold", Normalizer{}, "ǰļőṕẹẑ", "jlopez"},
		{"accented e-mail folds", Normalizer{}, "JLÓPEZ@Exámple.com", "jlopez@example.com"},
		{"letters collations weigh as a base letter (MySQL 0900_ai_ci)", Normalizer{}, "BJØRN.Łukasz", "bjorn.lukasz"},
		{"ligatures collations expand", Normalizer{}, "Æsa Œdipe", "aesa oedipe"},
		{"Catalan l with middle dot", Normalizer{}, "Coŀlegi", "collegi"},
		{"a collation letter with an accent", Normalizer{}, "ǿle", "ole"},
		{"case sensitive keeps collation letters", Normalizer{CaseSensitive: true}, "Bjørn", "Bjørn"},
		{"inner space is kept", Normalizer{}, "j lopez", "j lopez"},
		{"case sensitive keeps accents", Normalizer{CaseSensitive: true}, "JLópez", "JLópez"},
		{"case sensitive still drops ignorables", Normalizer{CaseSensitive: true}, "JL\u200bópez\x00", "JLópez"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.User(tt.in); got != tt.want {
				t.Fatalf("User(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeUserASCIIFastPathDoesNotAllocate(t *testing.T) {
	var n Normalizer
	if a := testing.AllocsPerRun(100, func() { _ = n.User("jlopez") }); a != 0 {
		t.Fatalf("%v allocations for a name already normal", a)
	}
}

func TestNormalizeIP(t *testing.T) {
	tests := []struct {
		name string
		n    Normalizer
		in   string
		want string
	}{
		{"ipv4 /32", Normalizer{}, "203.0.113.7", "203.0.113.7/32"},
		{"ipv4-mapped counts as ipv4", Normalizer{}, "::ffff:203.0.113.7", "203.0.113.7/32"},
		{"ipv6 /64 default", Normalizer{}, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"ipv6 zone dropped", Normalizer{}, "fe80::1%eth0", "fe80::/64"},
		{"ipv6 /56", Normalizer{IPv6Prefix: 56}, "2001:db8:1:2ff::1", "2001:db8:1:200::/56"},
		{"ipv4 /24", Normalizer{IPv4Prefix: 24}, "203.0.113.7", "203.0.113.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.IP(netip.MustParseAddr(tt.in)).String(); got != tt.want {
				t.Fatalf("IP(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	if (Normalizer{}).IP(netip.Addr{}).IsValid() {
		t.Fatal("an invalid address gave a valid prefix")
	}
}

func TestNormalizerValidate(t *testing.T) {
	for _, n := range []Normalizer{{IPv6Prefix: 129}, {IPv4Prefix: 33}, {IPv6Prefix: -1}} {
		if n.Validate() == nil {
			t.Errorf("%+v accepted", n)
		}
	}
	if err := (Normalizer{IPv6Prefix: 48, IPv4Prefix: 24}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestUserKeyBoundsLongNames(t *testing.T) {
	long := strings.Repeat("a", 10_000)
	k := userKey(long)
	if len(k) > maxUserKey || !strings.HasPrefix(k, "#") {
		t.Fatalf("long name key %q", k)
	}
	if userKey(long) != k || userKey(long+"b") == k {
		t.Fatal("digest not stable or not distinct")
	}
	if userKey("jlopez") != "jlopez" {
		t.Fatal("short names must stay readable")
	}
}

// TestCollationLettersMatchTheCollator: every letter of U+0080 to U+2FFF
// that the root collation, ignoring accents, case and width, weighs as
// one or two ASCII letters gets that key from User, and the table holds
// nothing else: a letter the accent folding misses (it does not
// decompose) is in collationLetters, and every entry is the collator's.
func TestCollationLettersMatchTheCollator(t *testing.T) {
	c := collate.New(language.Und, collate.IgnoreDiacritics, collate.IgnoreCase, collate.IgnoreWidth)
	var buf collate.Buffer
	ascii := map[string]string{}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for _, a := range letters {
		ascii[string(c.KeyFromString(&buf, string(a)))] = string(a)
		for _, b := range letters {
			ascii[string(c.KeyFromString(&buf, string(a)+string(b)))] = string(a) + string(b)
		}
	}
	var n Normalizer
	checked := 0
	for r := rune(0x80); r < 0x3000; r++ {
		if !unicode.IsLetter(r) {
			continue
		}
		want, ok := ascii[string(c.KeyFromString(&buf, string(r)))]
		if !ok {
			continue
		}
		checked++
		if got := n.User(string(r)); got != want {
			t.Errorf("User(%q) = %q; the collator weighs %U as %q", string(r), got, r, want)
		}
	}
	for r, base := range collationLetters {
		if want := ascii[string(c.KeyFromString(&buf, string(r)))]; want != base {
			t.Errorf("collationLetters[%q] = %q, the collator says %q", string(r), base, want)
		}
	}
	if checked < len(collationLetters) {
		t.Fatalf("only %d letters weighed as ASCII: the check found too little to check", checked)
	}
}
