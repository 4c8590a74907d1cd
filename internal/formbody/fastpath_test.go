package formbody_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/login-guard/login_guard/internal/bodydiff"
	"github.com/login-guard/login_guard/internal/formbody"
)

// The fast paths (fastpath.go) must give the answer of the general path
// for every request: the same fields and values, or the same refusal
// (status, reason, field and text). TestFastPathsAgree runs both over the
// package's refusal corpus, the differential test's pass and mutation
// corpora, those mutations with random bytes spliced in (as the fuzz
// target does), and a generated corpus aimed at the fast paths' edges:
// Content-Type spellings, names next to simple ones, escapes, long values,
// JSON keys and escaped strings, bodies past the room for decoded values.

// specs are the configurations each request is read with: bodydiff's
// (default with an amount, Devise, Symfony), the defaults, and some whose
// guarded names are not all simple (upper case, a dotted JSON path) or are
// simple in other ways (a dash, a digit).
func specs() map[string]formbody.Spec {
	s := bodydiff.Specs()
	s["plain"] = formbody.Spec{}
	// The default names spelled out, which the fast paths recognise as
	// the defaults, and one password name off them.
	s["explicit"] = formbody.Spec{UserField: "username", DeviceField: "smartid_data", PasswordFields: []string{"password"}}
	s["two passwords"] = formbody.Spec{PasswordFields: []string{"password", "pin"}}
	s["upper"] = formbody.Spec{UserField: "UserName", PasswordFields: []string{"Passwd"}}
	s["dotted"] = formbody.Spec{UserField: "credentials.username", UniqueFields: []string{"op.amount"}}
	s["dash"] = formbody.Spec{UserField: "user-name", DeviceField: "device_1", PasswordFields: []string{"pass", "pin"}, UniqueFields: []string{"iban"}}
	// Simple user and device names beside guarded names that are not.
	s["mixed"] = formbody.Spec{PasswordFields: []string{"Passwd"}, UniqueFields: []string{"user[email]"}}
	// Tracked fields that are password fields, which Validate refuses.
	s["misconfigured"] = formbody.Spec{UserField: "Password", DeviceField: "data.password"}
	return s
}

type request struct {
	name, contentType, query, cookie string
	body                             []byte
	chunked                          bool
}

// reading is one path's answer, written out for comparison.
type reading struct {
	fields, err, body, replay string
}

func read(rq request, spec formbody.Spec, general bool) reading {
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.URL.RawQuery = rq.query
	r.Body = io.NopCloser(bytes.NewReader(rq.body))
	r.ContentLength = int64(len(rq.body))
	if rq.chunked {
		// A reader that returns one byte at a time, as a slow client's
		// chunks might arrive.
		r.Body = io.NopCloser(iotest.OneByteReader(bytes.NewReader(rq.body)))
		r.ContentLength = -1
	}
	if rq.contentType != "" {
		r.Header.Set("Content-Type", rq.contentType)
	}
	if rq.cookie != "" {
		r.Header.Set("Cookie", rq.cookie)
	}
	parse := formbody.ParseRequest
	if general {
		parse = formbody.ParseRequestGeneral
	}
	f, body, err := parse(r, 1<<20, spec)
	var out reading
	out.body = fmt.Sprintf("%q", body)
	if err != nil {
		var fe *formbody.Error
		if !errors.As(err, &fe) {
			out.err = "not an *Error: " + err.Error()
		} else {
			out.err = fmt.Sprintf("%d %s %q %q", fe.Status, fe.Reason, fe.Field, fe.Error())
		}
	} else {
		out.fields = formbody.DescribeFields(f)
	}
	replayed, rerr := io.ReadAll(r.Body)
	out.replay = fmt.Sprintf("%q %v", replayed, rerr)
	return out
}

// agree runs rq through both paths with every spec.
func agree(t *testing.T, rq request, specs map[string]formbody.Spec) (refused int) {
	t.Helper()
	for name, spec := range specs {
		fast, general := read(rq, spec, false), read(rq, spec, true)
		if fast != general {
			t.Fatalf("%s (spec %s): the fast path reads\n  %+v\nthe general path\n  %+v\nContent-Type %q query %q body %q",
				rq.name, name, fast, general, rq.contentType, rq.query, rq.body)
		}
		if fast.err != "" {
			refused++
		}
	}
	return refused
}

func TestFastPathsAgree(t *testing.T) {
	specs := specs()
	var requests []request
	for _, c := range formbody.PolicyCases() {
		requests = append(requests, request{name: "policy case " + c.Name, contentType: c.ContentType, body: []byte(c.Body), query: c.Query})
	}
	corpus := append(bodydiff.PassCases(), bodydiff.Mutations(20261130, 3200/corpusShare)...)
	for _, c := range corpus {
		requests = append(requests, request{name: c.Name, contentType: c.ContentType, body: c.Body, query: c.Query})
	}
	r := rand.New(rand.NewPCG(13, 2026))
	for i, c := range bodydiff.Mutations(20261130, 1600/corpusShare) {
		// The fuzz target's splice: random bytes at a random place.
		splice := make([]byte, 1+r.IntN(6))
		for j := range splice {
			splice[j] = spliceBytes[r.IntN(len(spliceBytes))]
		}
		at := r.IntN(len(c.Body) + 1)
		body := append(append(append([]byte{}, c.Body[:at]...), splice...), c.Body[at:]...)
		requests = append(requests, request{name: fmt.Sprintf("spliced mutation %d", i), contentType: c.ContentType, body: body, query: c.Query, chunked: i%7 == 0})
	}
	requests = append(requests, edgeRequests(r)...)

	total, refused := 0, 0
	for _, rq := range requests {
		refused += agree(t, rq, specs)
		total += len(specs)
	}
	t.Logf("%d requests × %d specs: %d readings agree, %d of them refusals", len(requests), len(specs), total, refused)
	if refused == 0 || refused == total {
		t.Fatalf("the corpus should hold both accepted and refused bodies (%d of %d refused)", refused, total)
	}
}

// spliceBytes are the bytes the policy cares about, and some it does not.
var spliceBytes = []byte("&=;%+.[] \x00\t\r\n\"'\\{}:,uU_-aZ9\x80\xc3\xa9\xff")

// contentTypes are spellings on both sides of the fast path's grammar.
var contentTypes = []string{
	"application/x-www-form-urlencoded",
	"application/x-www-form-urlencoded; charset=UTF-8",
	"application/x-www-form-urlencoded; charset=utf-8",
	"application/x-www-form-urlencoded;charset=utf-8",
	"application/x-www-form-urlencoded; charset=utf8",
	"application/x-www-form-urlencoded; charset=Utf8",
	"application/x-www-form-urlencoded;  charset=utf-8",
	"application/x-www-form-urlencoded; charset=utf-8 ",
	"application/x-www-form-urlencoded ; charset=utf-8",
	"application/x-www-form-urlencoded; charset=\"utf-8\"",
	"application/x-www-form-urlencoded; Charset=utf-8",
	"application/x-www-form-urlencoded; charset=utf-8; x=1",
	"application/x-www-form-urlencoded; charset=utf-8;",
	"application/x-www-form-urlencoded; charset=us-ascii",
	"application/x-www-form-urlencoded; charset=utf-7",
	"application/x-www-form-urlencoded; charset*=utf-8",
	"application/x-www-form-urlencoded;",
	"application/x-www-form-urlencoded; ",
	"application/x-www-form-urlencoded ",
	"Application/x-www-form-urlencoded",
	"application/x-www-form-urlencoded\x00",
	"application/json",
	"application/json; charset=utf-8",
	"application/json;charset=UTF-8",
	"application/json; charset=utf-16",
	"application/json; charset=\"UTF8\"",
	"application/json; charset=utf-8, text/plain",
	"application/JSON",
	"application/vnd.api+json",
	"multipart/form-data; boundary=XyZ",
	"text/plain",
	"",
}

// nameParts build names next to the simple ones: the guarded names, their
// case and separator variants, escapes, and characters frameworks fold.
var nameParts = []string{"username", "user", "name", "smartid_data", "password", "amount", "pass", "pin", "iban", "passwd", "PASSWD", "Password", "data",
	"UserName", "Username", "user-name", "user_name", "user.name", "user[name]", "user[email]", "[]", "[0]", "[", "]", ".",
	"_", "-", " ", "+", "%20", "%2B", "%75", "%5B", "%00", "\x00", "%", "%zz", "K", "\u212a", "é", "%C3%A9", "\xff", "1", "credentials", "op"}

var valueParts = []string{"jlopez", "a+b", "%2F", "%3D%3D", "%", "%4", "%zz", ";", "=", "é", "%C3%A9", "%FF", "\xff", "+", " ", "",
	"ujOmfzNv5l%2F1SW%2BclQ%3D%3D", strings.Repeat("eyJ2IjoiNS4wIn0", 3), strings.Repeat("x%2F", 12), strings.Repeat("y", 40) + ";",
	// Around the 32 bytes formPairsFast scans a value byte by byte before
	// it searches the rest: what it looks for just before and just past.
	strings.Repeat("v", 31), strings.Repeat("v", 32), strings.Repeat("v", 33), strings.Repeat("v", 31) + ";", strings.Repeat("v", 32) + ";",
	strings.Repeat("v", 31) + "%41", strings.Repeat("v", 32) + "+", strings.Repeat("v", 33) + "%zz", strings.Repeat("v", 32) + "é", strings.Repeat("v", 32) + "\xff", strings.Repeat("v", 31) + "\xc3",
	strings.Repeat("v", 31) + "%C3%A9", strings.Repeat("v", 32) + "%FF", strings.Repeat("v", 29) + "%2F%3D"}

func pick(r *rand.Rand, parts []string, n int) string {
	var b strings.Builder
	for range 1 + r.IntN(n) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

// edgeRequests are generated around the fast paths' conditions.
func edgeRequests(r *rand.Rand) []request {
	var out []request
	for i := range 4000 / corpusShare {
		var body string
		ct := contentTypes[r.IntN(len(contentTypes))]
		switch {
		case strings.Contains(ct, "json") || r.IntN(4) == 0 && ct == "":
			body = jsonBody(r)
		default:
			var pairs []string
			for range 1 + r.IntN(5) {
				pair := pick(r, nameParts, 2)
				if r.IntN(6) != 0 {
					pair += "=" + pick(r, valueParts, 3)
				}
				pairs = append(pairs, pair)
			}
			sep := "&"
			if r.IntN(10) == 0 {
				sep = "&&"
			}
			body = strings.Join(pairs, sep)
		}
		if r.IntN(50) == 0 {
			// Past the room left for decoded values.
			body += "&filler=" + strings.Repeat("%41b", 1500)
		}
		rq := request{name: fmt.Sprintf("edge %d", i), contentType: ct, body: []byte(body), chunked: r.IntN(5) == 0}
		if r.IntN(4) == 0 {
			rq.query = pick(r, nameParts, 2) + "=" + pick(r, valueParts, 1)
			if r.IntN(2) == 0 {
				rq.query += "&" + pick(r, nameParts, 2) + "=q"
			}
		}
		if r.IntN(6) == 0 {
			rq.cookie = pick(r, nameParts, 1) + "=" + pick(r, valueParts, 1)
		}
		out = append(out, rq)
	}
	return out
}

var jsonKeys = []string{`"username"`, `"UserName"`, `"user-name"`, `"password"`, `"Password"`, `"smartid_data"`, `"amount"`, `"iban"`, `"passwd"`, `"data"`,
	`"user\u006eame"`, `"user.name"`, `"credentials"`, `"credentials.username"`, `"op"`, `"a b"`, `"\u212aey"`, `"é"`, `"pin"`,
	`"PASSWORD"`, `"pass\u0077ord"`, `"password1"`, `"pass_word"`, `"smartid-data"`}

var jsonValues = []string{`"jlopez"`, `"ujOmfzNv5l/1SW+clQ=="`, `"ujOmfzNv5l\/1SW+clQ=="`, `"a\"b\\c\n"`, `"\u00e9\ud83d\ude00"`,
	`"\ud800"`, `"` + strings.Repeat(`x\/`, 20) + `"`, `125.50`, `1e3`, `-0`, `true`, `null`, `[1,"a"]`, `"é"`, `"\u0000"`}

func jsonBody(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range 1 + r.IntN(4) {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(jsonKeys[r.IntN(len(jsonKeys))] + ":")
		if r.IntN(5) == 0 {
			b.WriteString("{" + jsonKeys[r.IntN(len(jsonKeys))] + ":" + jsonValues[r.IntN(len(jsonValues))] + "}")
		} else {
			b.WriteString(jsonValues[r.IntN(len(jsonValues))])
		}
	}
	b.WriteString("}")
	if r.IntN(20) == 0 {
		return " " + b.String() + " x"
	}
	return b.String()
}

// FuzzFastPathsAgree is TestFastPathsAgree's comparison on fuzzed bodies,
// Content-Types and query strings.
func FuzzFastPathsAgree(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 2026))
	for _, rq := range edgeRequests(r)[:200] {
		f.Add(rq.contentType, rq.body, rq.query)
	}
	specs := specs()
	f.Fuzz(func(t *testing.T, contentType string, body []byte, query string) {
		agree(t, request{name: "fuzzed", contentType: contentType, body: body, query: query}, specs)
	})
}
