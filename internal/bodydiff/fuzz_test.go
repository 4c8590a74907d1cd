package bodydiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/formbody"
)

// fuzzSeeds is how many cases of the differential corpus seed the fuzz
// target; the normal test run replays them all.
const fuzzSeeds = 600

// FuzzMutations runs the guard over the differential test's mutations,
// with fuzzer-chosen bytes spliced into the body. Invariants:
//
//   - no panic;
//   - a refusal is a *formbody.Error with a 4xx status and a reason, and
//     its text carries no body bytes (none of the values the corpus puts
//     in bodies, nor the spliced bytes);
//   - a body the guard accepts is passed on byte for byte, and net/http's
//     own form parsing (ParseMultipartForm / ParseForm, then FormValue) or
//     encoding/json reads every guarded field exactly as the guard does.
func FuzzMutations(f *testing.F) {
	for i := range fuzzSeeds {
		f.Add(uint64(20261130), uint64(i), []byte(nil))
	}
	f.Add(uint64(1), uint64(7), []byte("\x00username=x&"))
	f.Add(uint64(2), uint64(9), []byte("\x05\r\n--"))
	f.Fuzz(func(t *testing.T, seed, i uint64, splice []byte) {
		c := Mutation(seed, i)
		if len(splice) > 0 {
			at := int(splice[0]) % (len(c.Body) + 1)
			body := append([]byte{}, c.Body[:at]...)
			body = append(body, splice[1:]...)
			c.Body = append(body, c.Body[at:]...)
		}
		for name, spec := range Specs() {
			c.Spec = name
			g := guard(c)
			if g.err != nil {
				checkRefusal(t, c, g.err, splice)
				continue
			}
			if !g.replay {
				t.Fatalf("%s: the body passed on differs from the one sent", c.Name)
			}
			want, ok := stdlibReading(c, spec)
			if !ok {
				t.Fatalf("%s (spec %s): the guard accepted a body the standard library refuses\n%q %q", c.Name, name, c.ContentType, c.Body)
			}
			for _, field := range Guarded(spec) {
				if got := g.fields[field]; got != want[field] {
					t.Fatalf("%s (spec %s): %s: guard %v, standard library %v\n%q %q", c.Name, name, field, got, want[field], c.ContentType, c.Body)
				}
			}
		}
	})
}

// secretish are values the corpus puts in bodies; none may appear in a
// refusal's text.
var secretish = []string{"hunter2", "mallory", "eyJzIjoxfQ", "jürgen", "o'brien", "Ωmega", "125.50"}

func checkRefusal(t *testing.T, c Case, fe *formbody.Error, splice []byte) {
	t.Helper()
	if fe.Status < 400 || fe.Status > 499 || fe.Reason == "" || fe.Reason == "not_a_formbody_error" {
		t.Fatalf("%s: bad refusal %+v", c.Name, fe)
	}
	msg := fe.Error()
	for _, s := range secretish {
		if strings.Contains(msg, s) {
			t.Fatalf("%s: refusal text %q carries body content %q", c.Name, msg, s)
		}
	}
	if len(splice) > 6 && strings.Contains(msg, string(splice[1:])) {
		t.Fatalf("%s: refusal text %q carries spliced bytes", c.Name, msg)
	}
}

// stdlibReading is what Go's standard library reads: net/http's form
// parsing for forms and multipart, encoding/json for JSON.
func stdlibReading(c Case, spec formbody.Spec) (map[string]value, bool) {
	out := map[string]value{}
	mt, _, _ := mime.ParseMediaType(c.ContentType)
	if mt == "application/json" {
		// UseNumber: a number out of float64's range elsewhere in the
		// document is no reason to refuse it.
		dec := json.NewDecoder(bytes.NewReader(c.Body))
		dec.UseNumber()
		var doc any
		if dec.Decode(&doc) != nil || dec.InputOffset() != int64(len(bytes.TrimRight(c.Body, " \t\r\n"))) {
			return nil, false
		}
		for _, name := range Guarded(spec) {
			out[name] = jsonValue(doc, name)
		}
		return out, true
	}
	r := newRequest(c)
	err := r.ParseMultipartForm(1 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = r.ParseForm()
	}
	if err != nil {
		return nil, false
	}
	for _, name := range Guarded(spec) {
		if vs, ok := r.Form[name]; ok && len(vs) > 0 {
			out[name] = value{kind: 1, s: vs[0]}
		} else {
			out[name] = value{}
		}
	}
	return out, true
}

func jsonValue(doc any, path string) value {
	for seg := range strings.SplitSeq(path, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return value{}
		}
		if doc, ok = m[seg]; !ok {
			return value{}
		}
	}
	switch v := doc.(type) {
	case nil:
		return value{}
	case string:
		return value{kind: 1, s: v}
	case json.Number:
		if n, ok := number(string(v)); ok {
			return n
		}
	}
	return value{kind: 2}
}
