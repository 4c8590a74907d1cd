package smartid

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The events are encoded by hand with append-style helpers rather than
// encoding/json: the field set and order are fixed by the vendor, the
// login path is hot, and one right-sized buffer is the only allocation.
// The output is what encoding/json would produce for the same values
// (minus its optional HTML escaping); tests check that.

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes appendString copies as they are: printable
// ASCII other than '"' and '\\'. A table keeps the common path (base64
// device payloads, user names) to one lookup per byte.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, U+2028/U+2029
// escaped so the body is also safe inside JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: a device payload is kilobytes of
		// base64, and one test per word instead of per byte is most of
		// the encoder's time.
		if i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainWord reports whether all eight bytes of w are plain (plainASCII):
// none below 0x20, none with the high bit, no '"' and no '\\'. These are
// the classic exact tests for "some byte is less than n" and "some byte
// equals n" on a whole word.
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := (w - ones*0x20) &^ w
	quote := w ^ (ones * '"')
	quote = (quote - ones) &^ quote
	slash := w ^ (ones * '\\')
	slash = (slash - ones) &^ slash
	return (less|quote|slash|w)&highs == 0
}

// appendKey appends `"name":` preceded by a comma unless it opens an object.
// Names are package constants and need no escaping.
func appendKey(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, name, v string) []byte {
	return appendString(appendKey(b, name), v)
}

func appendIntField(b []byte, name string, v int) []byte {
	return strconv.AppendInt(appendKey(b, name), int64(v), 10)
}

// appendFloat formats f like encoding/json: shortest representation,
// exponent only for very small or very large magnitudes. f must be finite.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Turn e-07 into e-7, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendStringMap appends m as a JSON object with sorted keys, so equal
// events give equal bodies.
func appendStringMap(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// jsonStringLen estimates appendString's output length for s to size a
// buffer once. It is exact when s needs no escaping (the usual case: user
// names, session ids, base64 device payloads); escapes only cost a regrow.
func jsonStringLen(s string) int { return 2 + len(s) }
