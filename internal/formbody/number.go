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
