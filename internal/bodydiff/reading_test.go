package bodydiff

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/login-guard/login_guard/internal/formbody"
)

// value is one guarded field as read: absent, a string, or something else
// (an array, an object, a number: what a login would not take as a user).
type value struct {
	kind uint8 // 0 absent, 1 string, 2 other, 3 number (s is its value, formatted by Go)
	s    string
}

func (v value) String() string {
	switch v.kind {
	case 0:
		return "absent"
	case 1:
		return fmt.Sprintf("%q", v.s)
	case 3:
		return "number " + v.s
	}
	return "non-string"
}

// number reads a JSON number's text as its float64 value: decoders agree
// on a number when they agree on its value, not its spelling.
func number(text string) (value, bool) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return value{}, false
	}
	if f == 0 {
		// -0 is 0: PHP, Python, Ruby and Jackson read it as the integer,
		// JavaScript as a -0 that equals 0 and prints as 0.
		f = 0
	}
	return value{kind: 3, s: strconv.FormatFloat(f, 'g', -1, 64)}, true
}

func newRequest(c Case) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", bytes.NewReader(c.Body))
	r.URL.RawQuery = c.Query
	r.RequestURI = ""
	if c.ContentType != "" {
		r.Header.Set("Content-Type", c.ContentType)
	}
	r.ContentLength = int64(len(c.Body))
	return r
}

// guardReading is what the guard reads, and whether it passed the body on
// byte for byte.
type guardReading struct {
	err    *formbody.Error
	fields map[string]value
	replay bool
}

func guard(c Case) guardReading {
	spec := Specs()[c.Spec]
	r := newRequest(c)
	f, _, err := formbody.ParseRequest(r, 1<<20, spec)
	if err != nil {
		var fe *formbody.Error
		if !errors.As(err, &fe) {
			fe = &formbody.Error{Reason: "not_a_formbody_error"}
		}
		return guardReading{err: fe}
	}
	g := guardReading{fields: map[string]value{}}
	for _, name := range Guarded(spec) {
		if v, ok := f.Get(name); ok {
			g.fields[name] = value{kind: 1, s: v}
			if f.IsNumber(name) {
				g.fields[name], _ = number(v)
			}
		} else {
			g.fields[name] = value{}
		}
	}
	replayed, _ := io.ReadAll(r.Body)
	g.replay = bytes.Equal(replayed, c.Body)
	return g
}
