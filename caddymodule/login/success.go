package login

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SuccessCriteria judge from the upstream's answer whether a login
// succeeded. Every configured criterion must hold. The default — any 2xx
// or 3xx status — suits apps that answer a failed login with 401/403; apps
// that re-render the form with 200 should add `cookie` or `location`.
type SuccessCriteria struct {
	// Status lists accepted codes or ranges ("200", "300-399").
	// Default: 200-399.
	Status []string `json:"status,omitempty"`
	// Location, when set, requires a redirect whose Location starts with
	// this prefix (for example the dashboard path).
	Location string `json:"location,omitempty"`
	// Cookie, when set, requires the upstream to set this cookie with a
	// non-empty value (the app's session cookie).
	Cookie string `json:"cookie,omitempty"`
	// JSONField and JSONValue, when set, require the JSON response body to
	// hold JSONValue (JSON text, e.g. true or "ok") at the dotted path
	// JSONField: the way single-page apps report a login.
	JSONField string `json:"json_field,omitempty"`
	JSONValue string `json:"json_value,omitempty"`
	// BodyLimit caps the copy of the response body kept for JSONField.
	// Default 16KiB; a larger body is passed on and judged a failure.
	BodyLimit int `json:"body_limit,omitempty"`

	ranges    [][2]int
	jsonValue any
}

func (s *SuccessCriteria) provision() error {
	if len(s.Status) == 0 {
		s.Status = []string{"200-399"}
	}
	s.ranges = s.ranges[:0]
	for _, st := range s.Status {
		lo, hi, err := parseStatusRange(st)
		if err != nil {
			return err
		}
		s.ranges = append(s.ranges, [2]int{lo, hi})
	}
	if (s.JSONField == "") != (s.JSONValue == "") {
		return fmt.Errorf("json needs both a field path and a value")
	}
	if s.JSONValue != "" {
		if err := json.Unmarshal([]byte(s.JSONValue), &s.jsonValue); err != nil {
			return fmt.Errorf("json value %s is not JSON text (quote strings: '\"ok\"'): %v", s.JSONValue, err)
		}
	}
	if s.BodyLimit < 0 || s.BodyLimit > maxSuccessBodyLimit {
		return fmt.Errorf("body_limit must be from 1 to %d bytes (1MiB), not %d", maxSuccessBodyLimit, s.BodyLimit)
	}
	if s.BodyLimit == 0 {
		s.BodyLimit = 16 << 10
	}
	return nil
}

// maxSuccessBodyLimit bounds the copy of the body kept for a json
// criterion.
const maxSuccessBodyLimit = 1 << 20

// statusNumber reads a status code written as three digits (no sign).
func statusNumber(s string) (int, error) {
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a status code: %q", s)
	}
	return strconv.Atoi(s)
}

func parseStatusRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := statusNumber(lo)
	if err != nil || a < 100 || a > 599 {
		return 0, 0, fmt.Errorf("invalid status %q", s)
	}
	b := a
	if isRange {
		if b, err = statusNumber(hi); err != nil || b < a || b > 599 {
			return 0, 0, fmt.Errorf("invalid status range %q", s)
		}
	}
	return a, b, nil
}

// needsBody reports whether judging needs the response body.
func (s *SuccessCriteria) needsBody() bool { return s.JSONField != "" }

// judgeHead checks what headers can tell. It is called before the headers
// are written, so the guard can still add its session cookie.
func (s *SuccessCriteria) judgeHead(status int, hdr http.Header) bool {
	ok := false
	for _, r := range s.ranges {
		if status >= r[0] && status <= r[1] {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	if s.Location != "" && !strings.HasPrefix(hdr.Get("Location"), s.Location) {
		return false
	}
	if s.Cookie != "" && setCookieValue(hdr, s.Cookie) == "" {
		return false
	}
	return true
}

// judgeBody checks the JSON criterion on the capped body copy.
func (s *SuccessCriteria) judgeBody(body []byte) bool {
	if s.JSONField == "" {
		return true
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	for _, part := range strings.Split(s.JSONField, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		if doc, ok = m[part]; !ok {
			return false
		}
	}
	if n, ok := doc.(json.Number); ok {
		want, isNum := s.jsonValue.(float64)
		got, err := n.Float64()
		return isNum && err == nil && got == want
	}
	return fmt.Sprint(doc) == fmt.Sprint(s.jsonValue) && sameKind(doc, s.jsonValue)
}

func sameKind(a, b any) bool {
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case bool:
		_, ok := b.(bool)
		return ok
	case nil:
		return b == nil
	}
	return false
}

// setCookieValue is the value the response leaves a cookie with, as a
// browser keeps it: the last Set-Cookie of that name wins, and a deletion
// (an empty value, Max-Age<0, an Expires past) leaves none, which is not
// a login. A portal that sets its old session cookie and then the new one
// is bound to the new one.
func setCookieValue(hdr http.Header, name string) string {
	value := ""
	now := time.Now()
	for _, line := range hdr.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != name {
			continue
		}
		if c.Value == "" || c.MaxAge < 0 || (c.MaxAge == 0 && !c.Expires.IsZero() && c.Expires.Before(now)) {
			value = ""
			continue
		}
		value = c.Value
	}
	return value
}
