package formbody

import "testing"

// TestPlainNumbers: only plain ASCII decimals pass; every other spelling
// some language reads as a number (surrounding space, non-ASCII digits,
// Go-only hex floats and separators, exponents, signs) does not.
func TestPlainNumbers(t *testing.T) {
	for _, s := range []string{"5", "-5", "0", "007", "1250", "9223372036854775807"} {
		if !PlainInteger(s) {
			t.Errorf("PlainInteger(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-", " 5", "5 ", "+5", "５", "٥", "0x10", "1_0", "5.0", "1e3", "9223372036854775808", "5\x00"} {
		if PlainInteger(s) {
			t.Errorf("PlainInteger(%q) = true", s)
		}
	}
	for _, s := range []string{"5", "-5", "12.50", "0.5", "007.10"} {
		if !PlainDecimal(s) {
			t.Errorf("PlainDecimal(%q) = false", s)
		}
	}
	for _, s := range []string{"", ".5", "5.", "1.2.3", " 5", "5 ", "\t5", "+5", "５", "٥", "0x1p4", "1_0", "1e3", "Inf", "NaN", "-", "5,0"} {
		if PlainDecimal(s) {
			t.Errorf("PlainDecimal(%q) = true", s)
		}
	}
	for s, want := range map[string]bool{"12.5": true, "123456789012345": true, "1234567890123456": false, "0.000000000000001": true, "-0.1": true} {
		if got := plainJSONNumber(s); got != want {
			t.Errorf("plainJSONNumber(%q) = %v", s, got)
		}
	}
}
