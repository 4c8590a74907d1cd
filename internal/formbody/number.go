package formbody

import "strconv"

// PlainInteger reports whether s is a plain ASCII decimal integer: an
// optional '-' and the digits 0-9, nothing else, within int64. It is the
// only number syntax every framework reads alike: Python's int() and
// float() also take surrounding spaces, '_' separators and non-ASCII
// digits ("５", "٥"), PHP and JavaScript take spaces, Go's strconv takes
// "0x1p4" and, with base 0, "1_0". A value an operation mapping sends as a
// number must pass this (or PlainDecimal) or the request is refused.
func PlainInteger(s string) bool {
	if !plainDigits(s, false) {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// PlainDecimal reports whether s is a plain ASCII decimal number: an
// optional '-', digits, and optionally '.' followed by digits. No exponent,
// no sign '+', no spaces, no separators, finite as a float64.
func PlainDecimal(s string) bool {
	if !plainDigits(s, true) {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// ExactDecimal is PlainDecimal for an amount every framework reads as the
// same value: at most 15 significant digits, which a float64 (JavaScript,
// PHP) holds exactly as Python's and Ruby's exact numbers do, and no
// leading zero before another digit ("05", "-007.5"), which some read as
// octal (Ruby's Integer("0100") is 64) and others not.
func ExactDecimal(s string) bool {
	return PlainDecimal(s) && !leadingZero(s) && significantDigits(s) <= 15
}

// ExactInteger is PlainInteger without a leading zero before another
// digit (see ExactDecimal).
func ExactInteger(s string) bool {
	return PlainInteger(s) && !leadingZero(s)
}

// leadingZero reports a '0' followed by another digit at the start of s
// (after its sign).
func leadingZero(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	return len(s) > 1 && s[0] == '0' && isDigit(s[1])
}

// significantDigits counts s's digits from its first that is not a
// leading zero.
func significantDigits(s string) int {
	digits := 0
	lead := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '.' {
			continue
		}
		if lead && c == '0' {
			continue
		}
		lead = false
		digits++
	}
	return digits
}

func plainDigits(s string, fraction bool) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start {
		return false
	}
	if i < len(s) && s[i] == '.' && fraction {
		i++
		f := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == f {
			return false
		}
	}
	return i == len(s)
}
