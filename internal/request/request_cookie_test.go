package request

import (
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// requestCookieReference is requestCookie as it was before the byte scan
// (strings.SplitSeq, a comparison chain per byte): the reading the
// current one must agree with.
func requestCookieReference(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = textproto.TrimString(part)
			n, v, _ := strings.Cut(part, "=")
			if textproto.TrimString(n) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			ok := true
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
					ok = false
				}
			}
			if ok {
				return v, true
			}
		}
	}
	return "", false
}

func requestCookieAgrees(t *testing.T, name string, lines []string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	if lines != nil {
		r.Header["Cookie"] = lines
	}
	v, ok := requestCookie(r, name)
	wv, wok := requestCookieReference(r, name)
	if v != wv || ok != wok {
		t.Fatalf("cookie %q in %q: got %q %v, reference %q %v", name, lines, v, ok, wv, wok)
	}
}

var requestCookieCorpus = [][]string{
	{"login_guard=AgRrMQabc-_"},
	{"a=1; login_guard=tok; b=2"},
	{"login_guard=\"tok\""},
	{"login_guard=bad\\value; login_guard=good"},
	{"login_guard=bad\x7fvalue", "login_guard=second"},
	{" login_guard = tok ;"},
	{";;login_guard=;"},
	{"login_guard"},
	{"", "login_guard=x"},
	{"login_guard=\"\""},
	{"login_guard=\"a;b\""},
	{"login_guard=é"},
	{"__Host-login_guard=tok; login_guard=other"},
	{"\tlogin_guard\t=\ttok\t"},
}

// TestRequestCookieAgreesWithReference: the byte scan finds the cookie the
// split did, under every name, the empty one included.
func TestRequestCookieAgreesWithReference(t *testing.T) {
	for _, name := range []string{PlainSessionCookie, "__Host-" + PlainSessionCookie, "a", ""} {
		for _, lines := range requestCookieCorpus {
			requestCookieAgrees(t, name, lines)
		}
	}
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Cookie", "login_guard=bad\\value; login_guard=good")
	if v, ok := requestCookie(r, PlainSessionCookie); !ok || v != "good" {
		t.Fatalf("got %q %v, want the first valid value", v, ok)
	}
}

// FuzzRequestCookie holds requestCookie to the reference on any Cookie
// header: go test -fuzz FuzzRequestCookie ./internal/request/
func FuzzRequestCookie(f *testing.F) {
	for _, lines := range requestCookieCorpus {
		f.Add(PlainSessionCookie, strings.Join(lines, "\n"))
	}
	f.Fuzz(func(t *testing.T, name, cookies string) {
		var lines []string
		if cookies != "" {
			lines = strings.Split(cookies, "\n")
		}
		requestCookieAgrees(t, name, lines)
	})
}
