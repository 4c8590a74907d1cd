package rules

import (
	"errors"
	"strings"
)

// maxRuleLen bounds one rule string in JSON config (a when expression is
// itself limited to 4 KiB by the rules package).
const maxRuleLen = 8 << 10

// SplitRule reads a rule in the canonical form Rule.String writes, the
// form a route's JSON config holds: words separated by spaces,
// and a double-quoted word (a when expression) in which \" is a quote and
// \\ a backslash. It is the exact inverse of that rendering, which Caddy's
// own lexer is not (it keeps \\ as two backslashes).
func SplitRule(s string) ([]string, error) {
	if len(s) > maxRuleLen {
		return nil, errors.New("rule too long")
	}
	var (
		out []string
		cur strings.Builder
	)
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && !inWord:
			cur.Reset()
			closed := false
			for i++; i < len(s); i++ {
				c = s[i]
				if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
					cur.WriteByte(s[i])
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				cur.WriteByte(c)
			}
			if !closed {
				return nil, errors.New("unterminated quote")
			}
			if i+1 < len(s) && !isSpace(s[i+1]) {
				return nil, errors.New("a quoted word must be followed by a space")
			}
			out = append(out, cur.String())
			cur.Reset()
		case isSpace(c):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, errors.New("empty rule")
	}
	return out, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// ParseRuleString turns one rule in its String form (as JSON configs hold
// it) back into a rule: the inverse of Rule.String.
func ParseRuleString(s string) (Rule, error) {
	args, err := SplitRule(s)
	if err != nil {
		return nil, err
	}
	return ParseRule(args)
}
