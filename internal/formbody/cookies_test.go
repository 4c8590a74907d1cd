package formbody

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// checkCookiesReference is checkCookies as it was before the byte scan
// (strings.FieldsFuncSeq over runes, every request scanned): the reading
// the current one must agree with.
func checkCookiesReference(r *http.Request, f *Fields, spec Spec) error {
	for _, line := range r.Header["Cookie"] {
		for pair := range strings.FieldsFuncSeq(line, func(r rune) bool { return r == ';' || r == ',' }) {
			name, value, _ := strings.Cut(strings.TrimSpace(pair), "=")
			name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
			if err := checkCookieReference(name, value, f, &spec); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCookieReference is checkCookie as it was before keyStart: every
// cookie name's keys built and compared with every read field's.
func checkCookieReference(name, value string, f *Fields, spec *Spec) error {
	nk, nu := nameKey(name, true), nameKey(name, false)
	for i := range spec.trackedCount() {
		if i == 1 {
			continue
		}
		g := spec.tracked(i)
		if !keysOverlap(nk, nameKey(g, true)) && !keysOverlap(nu, nameKey(g, false)) {
			continue
		}
		v, ok := f.Get(g)
		if !ok && i == 0 {
			continue
		}
		if !ok {
			return fieldError(ReasonCookieConflict, g, "a cookie some frameworks read as field %q stands in for it")
		}
		if decoded, err := url.QueryUnescape(value); value == v || err == nil && decoded == v {
			continue
		}
		return fieldError(ReasonCookieConflict, g, "a cookie some frameworks read as field %q says otherwise")
	}
	return nil
}

// cookieCheckSpecs are the specs the differential check runs under: the
// defaults, and a route with an operation field beside the user.
var cookieCheckSpecs = []Spec{
	Spec{}.withDefaults(),
	Spec{UserField: "login[email]", UniqueFields: []string{"amount"}}.withDefaults(),
	Spec{UserField: ".User Name", UniqueFields: []string{"[to]", "Kelvin"}}.withDefaults(),
	Spec{UserField: "[]", UniqueFields: []string{"_x"}}.withDefaults(),
}

// cookieCheckAgrees fails t when checkCookies and the reference give a
// different verdict on a request with this body, query and Cookie lines.
func cookieCheckAgrees(t *testing.T, spec Spec, body, query string, lines []string) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		return
	}
	f, err := Parse(ctForm, []byte(body), q, spec)
	if err != nil {
		return // refused before the cookies are looked at
	}
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	if lines != nil {
		r.Header["Cookie"] = lines
	}
	got, want := checkCookies(r, &f, &spec), checkCookiesReference(r, &f, spec)
	if !sameRefusal(got, want) {
		t.Fatalf("spec %q, body %q, cookies %q: got %v, reference %v", spec.UserField, body, lines, got, want)
	}
}

func sameRefusal(a, b error) bool {
	var ea, eb *Error
	if errors.As(a, &ea) != errors.As(b, &eb) || (a == nil) != (b == nil) {
		return false
	}
	return ea == nil || ea.Reason == eb.Reason && ea.Status == eb.Status && ea.Error() == eb.Error()
}

var cookieCheckCorpus = []struct {
	body  string
	lines []string
}{
	{"username=alice&password=x", []string{"username=victim"}},
	{"username=alice&password=x", []string{"session=1; username=victim"}},
	{"username=alice&password=x", []string{"a=1, username=victim"}},
	{"username=alice&password=x", []string{"a=1,,;; ;username =\"victim\""}},
	{"username=alice&password=x", []string{"username=alice", "USERNAME=bob"}},
	{"username=alice&password=x", []string{"username[]=alice; username%5B%5D=x"}},
	{"username=al%C3%AFce", []string{"username=al%C3%AFce; user\xffname=x"}},
	{"username=alice", []string{"\u00a0username\u00a0=\u00a0victim\u00a0"}},
	{"username=alice", []string{"\xe2\x80\x8busername=victim"}},
	{"username=alice", []string{"username=\"\"alice\"\""}},
	{"username=alice", []string{"username=al\xffice;", ";;", ""}},
	{"username=alice", []string{"login_guard=AgRrMQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; theme=dark"}},
	{"", []string{"username=victim"}},
	{"smartid_data=x", []string{"smartid_data=y; username=victim"}},
	{"login%5Bemail%5D=a%40b.c&amount=10", []string{"login[email]=other; amount=10"}},
	{"login%5Bemail%5D=a%40b.c&amount=10", []string{"login.email=a%40b.c; amount=11"}},
	{"login%5Bemail%5D=a%40b.c&amount=10", []string{"LOGIN[EMAIL]=a@b.c , amount = 10 "}},
	{"username=alice", []string{"[username]=x; .username=x; \x00username=x; \x01username=x; _username=x"}},
	{"username=alice", []string{"User Name=x; user.name=x; USER[NAME=x; PHPSESSID=1; \u212Aey=x"}},
	{".User+Name=bob&%5Bto%5D=acct&Kelvin=k", []string{"_user_name=eve; [user][name]=eve; to=other; kelvin=K; \u212Aelvin=x"}},
	{".User+Name=bob&%5Bto%5D=acct&Kelvin=k", []string{"..user name=bob; TO=acct; ]to[=z"}},
	{"%5B%5D=v&_x=1", []string{"[=w; ..=w; \t=w; =w; _X=2; _x[0]=1"}},
}

// TestCookieCheckAgreesWithReference: the byte scan gives the verdicts the
// rune-by-rune split gave, on the corpus under every spec.
func TestCookieCheckAgreesWithReference(t *testing.T) {
	for _, spec := range cookieCheckSpecs {
		refused := 0
		for _, c := range cookieCheckCorpus {
			cookieCheckAgrees(t, spec, c.body, "", c.lines)
			if f, err := Parse(ctForm, []byte(c.body), nil, spec); err == nil {
				r, _ := http.NewRequest(http.MethodPost, "/", nil)
				r.Header["Cookie"] = c.lines
				if checkCookies(r, &f, &spec) != nil {
					refused++
				}
			}
		}
		if refused == 0 {
			t.Errorf("spec %q: the corpus has no cookie conflict", spec.UserField)
		}
	}
	// The corpus is not vacuous: both verdicts occur.
	spec := cookieCheckSpecs[0]
	f, _ := Parse(ctForm, []byte("username=alice"), nil, spec)
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Cookie", "a=1, username=victim")
	if err := checkCookies(r, &f, &spec); err == nil {
		t.Fatal("a cookie contradicting the user passed")
	}
	r.Header.Set("Cookie", "a=1, username=alice")
	if err := checkCookies(r, &f, &spec); err != nil {
		t.Fatal(err)
	}
}

// FuzzCookieCheck holds checkCookies to the reference on any Cookie
// header: go test -fuzz FuzzCookieCheck ./internal/formbody/
func FuzzCookieCheck(f *testing.F) {
	for _, c := range cookieCheckCorpus {
		f.Add(c.body, "", strings.Join(c.lines, "\n"), uint8(0))
		f.Add(c.body, "username=alice", strings.Join(c.lines, "\n"), uint8(1))
	}
	f.Fuzz(func(t *testing.T, body, query, cookies string, which uint8) {
		spec := cookieCheckSpecs[int(which)%len(cookieCheckSpecs)]
		var lines []string
		if cookies != "" {
			lines = strings.Split(cookies, "\n")
		}
		cookieCheckAgrees(t, spec, body, query, lines)
	})
}

// BenchmarkCheckCookies is the cookie check of a login form whose request
// carries a guard session cookie and two of the portal's (with lower-case
// names, or one upper-case as PHP's session cookie), by the byte scan and
// by the reference (rune-by-rune) split.
func BenchmarkCheckCookies(b *testing.B) {
	spec := Spec{}.withDefaults()
	f, err := Parse(ctForm, []byte("username=jlopez&password=secret"), nil, spec)
	if err != nil {
		b.Fatal(err)
	}
	guard := "login_guard=AgRrMQ" + strings.Repeat("x7Yq-_Zb", 16)
	for _, h := range []struct{ name, header string }{
		{"lower", guard + "; theme=dark; sid=3f2a9c0e1b7d4e6a8c5b2d9f0a1e3c7b"},
		{"upper", guard + "; theme=dark; PHPSESSID=3f2a9c0e1b7d4e6a8c5b2d9f0a1e3c7b"},
	} {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Cookie", h.header)
		for _, c := range []struct {
			name  string
			check func(*http.Request, *Fields, Spec) error
		}{{"scan", func(r *http.Request, f *Fields, spec Spec) error { return checkCookies(r, f, &spec) }}, {"reference", checkCookiesReference}} {
			b.Run(h.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := c.check(r, &f, spec); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
