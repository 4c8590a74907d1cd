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

// TestExactNumbers: an operation's amount and integer reference pass only
// when every framework reads them as one value: no leading zero before a
// digit (Ruby's Integer("0100") is 64), and an amount within the 15
// significant digits a float64 holds exactly (JavaScript reads
// 9007199254740993 as ...992).
func TestExactNumbers(t *testing.T) {
	for _, s := range []string{"5", "0", "-5", "1250", "9223372036854775807"} {
		if !ExactInteger(s) {
			t.Errorf("ExactInteger(%q) = false", s)
		}
	}
	for _, s := range []string{"007", "-05", "00", "0x10"} {
		if ExactInteger(s) {
			t.Errorf("ExactInteger(%q) = true", s)
		}
	}
	for _, s := range []string{"5", "0.5", "-0.5", "12.50", "123456789012345", "9999999999999.99", "0.000000000000001"} {
		if !ExactDecimal(s) {
			t.Errorf("ExactDecimal(%q) = false", s)
		}
	}
	for _, s := range []string{"007.10", "05", "-00.5", "9007199254740993", "1234567890123456", "0.1234567890123456", "1e3"} {
		if ExactDecimal(s) {
			t.Errorf("ExactDecimal(%q) = true", s)
		}
	}
}
