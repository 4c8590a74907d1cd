package upstreamsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"
)

var secret = []byte("portal-shared-secret-123")

func signed(v Verdict) http.Header {
	h := http.Header{}
	SetHeaders(h, secret, v)
	return h
}

// TestSignatureFormat pins the wire format a portal implements: the
// netstrings of the tag and the fields, HMAC-SHA256, base64url, "v2=".
func TestSignatureFormat(t *testing.T) {
	v := Verdict{Route: "login", Method: "POST", Path: "/api/login", User: "jürgen", Action: "allow", Score: "3", Reasons: "", Time: time.Unix(1796045000, 0)}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("14:login_guard-v2,5:login,4:POST,10:/api/login,7:jürgen,5:allow,1:3,0:,10:1796045000,"))
	want := "v2=" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if got := Sign(secret, v); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	h := signed(v)
	if h.Get(HeaderUser) != base64.RawURLEncoding.EncodeToString([]byte("jürgen")) || h.Get(HeaderTime) != "1796045000" {
		t.Fatalf("headers %v", h)
	}
}

// TestFieldsCannotShift: length prefixes keep a byte from moving between
// fields (a user ending in what another field starts with).
func TestFieldsCannotShift(t *testing.T) {
	a := Verdict{Route: "r", Method: "POST", Path: "/a", User: "x,5:allow", Action: "pending", Time: time.Unix(1, 0)}
	b := Verdict{Route: "r", Method: "POST", Path: "/a", User: "x", Action: "allow,7:pending", Time: time.Unix(1, 0)}
	if Sign(secret, a) == Sign(secret, b) {
		t.Fatal("two verdicts with shifted fields sign alike")
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1796045000, 0)
	v := Verdict{Route: "login", Method: "POST", Path: "/api/login", User: "alice\n", Action: ActionAllow, Time: now}
	h := signed(v)
	got, err := Verify(h, secret, "POST", "/api/login", now.Add(30*time.Second), time.Minute)
	if err != nil || got.User != "alice\n" || got.Action != ActionAllow || got.Route != "login" {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	cases := []struct {
		name         string
		h            http.Header
		method, path string
		now          time.Time
		want         error
	}{
		{"other path", h, "POST", "/api/transfer", now, ErrSignature},
		{"other method", h, "PUT", "/api/login", now, ErrSignature},
		{"other secret", signedWith([]byte("another-secret-of-16"), v), "POST", "/api/login", now, ErrSignature},
		{"stale", h, "POST", "/api/login", now.Add(2 * time.Minute), ErrStale},
		{"from the future", h, "POST", "/api/login", now.Add(-2 * time.Minute), ErrStale},
		{"user swapped", with(h, HeaderUser, "Ym9i"), "POST", "/api/login", now, ErrSignature},
		{"action swapped", with(h, HeaderAction, "allow "), "POST", "/api/login", now, ErrSignature},
		{"v1 signature", with(h, HeaderSignature, "abc"), "POST", "/api/login", now, ErrMalformed},
		{"missing user", without(h, HeaderUser), "POST", "/api/login", now, ErrMissing},
		{"repeated action", added(h, HeaderAction, "allow"), "POST", "/api/login", now, ErrMissing},
	}
	for _, c := range cases {
		if _, err := Verify(c.h, secret, c.method, c.path, c.now, time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func signedWith(s []byte, v Verdict) http.Header {
	h := http.Header{}
	SetHeaders(h, s, v)
	return h
}

func with(h http.Header, k, v string) http.Header {
	c := h.Clone()
	c.Set(k, v)
	return c
}

func without(h http.Header, k string) http.Header {
	c := h.Clone()
	c.Del(k)
	return c
}

func added(h http.Header, k, v string) http.Header {
	c := h.Clone()
	c.Add(k, v)
	return c
}

// A portal written in Go checks the verdict on its login handler: the
// signature, a freshness window, a final "allow", and that the user the
// guard judged is the user it logs in.
func ExampleVerify() {
	login := func(w http.ResponseWriter, r *http.Request) {
		v, err := Verify(r.Header, []byte("portal-shared-secret-123"), r.Method, r.URL.EscapedPath(), time.Now(), time.Minute)
		if err != nil || v.Action != ActionAllow || v.User != r.PostFormValue("username") {
			http.Error(w, "login not approved by the guard", http.StatusForbidden)
			return
		}
		// ... check the password and log the user in.
	}
	_ = login
}
