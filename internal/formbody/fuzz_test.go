package formbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
)

var fuzzTypes = []string{ctForm, ctJSON, ctMultipart, "application/json; charset=utf-8", "text/plain", ""}

// FuzzParse checks that Parse never panics, only returns *Error refusals
// with a 4xx status, never exposes a password field, and agrees with the
// standard library's parsers whenever it accepts what they accept.
func FuzzParse(f *testing.F) {
	for _, tc := range refusals() {
		f.Add(uint8(typeIndex(tc.ct)), []byte(tc.body), tc.query)
	}
	f.Add(uint8(0), []byte("username=alice&password=x&smartid_data=p%3D"), "")
	f.Add(uint8(1), []byte(`{"username":"alice","password":"x","smartid_data":"p","o":{"a":[1,{"b":true}]}}`), "")
	f.Add(uint8(1), []byte(`{"user\u006eame":"\ud83d\ude00","n":-0.5e-3}`), "amount=1")
	f.Add(uint8(2), []byte(mp(part("username", "a"), part("password", "x"), part("smartid_data", ""))), "")
	f.Fuzz(func(t *testing.T, kind uint8, body []byte, rawQuery string) {
		ct := fuzzTypes[int(kind)%len(fuzzTypes)]
		query, _ := url.ParseQuery(rawQuery)
		spec := Spec{UniqueFields: []string{"amount"}}
		fields, err := Parse(ct, body, query, spec)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Status < 400 || fe.Status > 499 || fe.Reason == "" || fe.Error() == "" {
				t.Fatalf("bad refusal %#v", err)
			}
			return
		}
		if v, ok := fields.Get("password"); ok {
			t.Fatalf("password exposed: %q", v)
		}
		if len(body) == 0 || query.Has("username") {
			return
		}
		user, hasUser := fields.User()
		switch ct {
		case ctForm:
			if ref, err := url.ParseQuery(string(body)); err == nil {
				vals, ok := ref["username"]
				if ok != hasUser || ok && (len(vals) != 1 || vals[0] != user) {
					t.Fatalf("user %q/%v, url.ParseQuery %q", user, hasUser, vals)
				}
			}
		case ctJSON:
			if !json.Valid(body) {
				t.Fatal("accepted JSON that encoding/json rejects")
			}
			var ref map[string]any
			if json.Unmarshal(body, &ref) != nil {
				return // not an object
			}
			var refUser any
			found := false
			for k, v := range ref {
				if strings.EqualFold(k, "username") {
					refUser, found = v, true
				}
			}
			if found != hasUser || found && refUser != user {
				t.Fatalf("user %q/%v, encoding/json %v/%v", user, hasUser, refUser, found)
			}
		case ctMultipart:
			form, err := multipart.NewReader(bytes.NewReader(body), "XyZ").ReadForm(1 << 20)
			if err != nil {
				return
			}
			defer form.RemoveAll()
			vals, ok := form.Value["username"]
			if ok != hasUser || ok && (len(vals) != 1 || vals[0] != user) {
				t.Fatalf("user %q/%v, ReadForm %q", user, hasUser, vals)
			}
		}
	})
}

func typeIndex(ct string) int {
	for i, t := range fuzzTypes {
		if t == ct {
			return i
		}
	}
	return len(fuzzTypes) - 1
}
