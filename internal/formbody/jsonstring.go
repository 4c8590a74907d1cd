package formbody

import (
	"unicode/utf8"
)

// str decodes the JSON string at p.i (which is '"'). A string without
// escapes is returned as a slice of the body copy, without allocating.
// ascii reports a string known to be ASCII (false: not known).
// Invalid UTF-8 and unpaired surrogate escapes are refused rather than
// replaced, since decoders differ on them.
func (p *jsonParser) str() (v string, ascii bool, err error) {
	s := p.s
	start := p.i + 1
	ascii = true
	for j := start; j < len(s); j++ {
		if !jsonStringSpecial[s[j]] {
			continue
		}
		switch c := s[j]; {
		case c == '"':
			v := s[start:j]
			if !ascii && !utf8.ValidString(v) {
				p.i = start
				return "", false, p.syntaxError()
			}
			p.i = j + 1
			return v, ascii, nil
		case c == '\\':
			v, err := p.strEscaped(start, j)
			return v, false, err
		case c < 0x20:
			p.i = j
			return "", false, p.syntaxError()
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	p.i = len(s)
	return "", false, p.syntaxError()
}

// jsonStringSpecial marks the bytes str must look at (the end of the
// string, an escape, a control byte, a byte of a multi-byte sequence):
// one table lookup passes over the others.
var jsonStringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// strEscaped continues str from the first backslash at j.
func (p *jsonParser) strEscaped(start, j int) (string, error) {
	s := p.s
	// The decoded string is never longer than what is left of the body, so
	// when the scratch space has that much room, buf is never reallocated
	// and the string can be a view of it.
	inScratch := !p.general && cap(p.scratch)-len(p.scratch) >= len(s)-start
	var buf []byte
	if inScratch {
		buf = p.scratch[len(p.scratch):]
	} else {
		buf = make([]byte, 0, len(s[start:j])+16)
	}
	buf = append(buf, s[start:j]...)
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				p.i = start
				return "", p.syntaxError()
			}
			p.i = j + 1
			if inScratch {
				p.scratch = p.scratch[:len(p.scratch)+len(buf)]
				return scratchString(buf), nil
			}
			return string(buf), nil
		case c < 0x20:
			p.i = j
			return "", p.syntaxError()
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(s) {
			break
		}
		switch s[j+1] {
		case '"', '\\', '/':
			buf = append(buf, s[j+1])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, n, ok := decodeUnicodeEscape(s[j:])
			if !ok {
				p.i = j
				return "", p.syntaxError()
			}
			buf = utf8.AppendRune(buf, r)
			j += n
			continue
		default:
			p.i = j
			return "", p.syntaxError()
		}
		j += 2
	}
	p.i = len(s)
	return "", p.syntaxError()
}

// decodeUnicodeEscape decodes \uXXXX, or a \uXXXX\uXXXX surrogate pair,
// at the start of s; n is the bytes consumed. A lone surrogate fails.
func decodeUnicodeEscape(s string) (r rune, n int, ok bool) {
	hi, ok := hex4(s)
	if !ok {
		return 0, 0, false
	}
	switch {
	case hi < 0xD800 || hi > 0xDFFF:
		return hi, 6, true
	case hi >= 0xDC00:
		return 0, 0, false
	}
	if len(s) < 12 || s[6] != '\\' || s[7] != 'u' {
		return 0, 0, false
	}
	lo, ok := hex4(s[6:])
	if !ok || lo < 0xDC00 || lo > 0xDFFF {
		return 0, 0, false
	}
	return 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00), 12, true
}

// hex4 reads the four hex digits of a \uXXXX escape at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 6 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}
