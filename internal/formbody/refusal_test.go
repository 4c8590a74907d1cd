package formbody

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// refusal is one body the guard must not pass on, with the status and
// reason it must answer with.
type refusal struct {
	name   string
	ct     string
	body   string
	query  string
	spec   Spec
	status int
	reason string
	// field is the configured field the refusal names, when it names one.
	field string
}

// refusals is shared with the password-leak test, which runs each case
// with a distinctive password inside.
func refusals() []refusal {
	deep := strings.Repeat("[", 33) + strings.Repeat("]", 33)
	okDeep := strings.Repeat("[", 32) + strings.Repeat("]", 32)
	return []refusal{
		{name: "unknown type", ct: "text/plain", body: "username=a", status: 415, reason: ReasonUnsupportedMediaType},
		{name: "missing type", ct: "", body: "username=a", status: 415, reason: ReasonUnsupportedMediaType},
		{name: "unparseable type", ct: "application/json; =x", body: "{}", status: 415, reason: ReasonUnsupportedMediaType},
		{name: "bare +json", ct: "application/+json", body: "{}", status: 415, reason: ReasonUnsupportedMediaType},
		{name: "json suffix type", ct: "application/vnd.api+json", body: `{"username":"a"}`, status: 415, reason: ReasonUnsupportedMediaType},
		{name: "upper-case media type", ct: "Multipart/Form-Data; boundary=XyZ", body: mp(part("username", "a")), status: 415, reason: ReasonAmbiguousMediaType},
		{name: "upper-case form type", ct: "Application/X-WWW-Form-Urlencoded", body: "username=a", status: 415, reason: ReasonAmbiguousMediaType},
		{name: "json with user in query", ct: ctJSON, body: `{"password":"x"}`, query: "username=a", status: 400, reason: ReasonQueryConflict, field: "username"},
		{name: "json amount exponent", ct: ctJSON, body: `{"amount":1e3}`, spec: Spec{UniqueFields: []string{"amount"}}, status: 400, reason: ReasonAmbiguousNumber, field: "amount"},
		{name: "json amount too precise", ct: ctJSON, body: `{"amount":12345678901234567890}`, spec: Spec{UniqueFields: []string{"amount"}}, status: 400, reason: ReasonAmbiguousNumber, field: "amount"},
		{name: "configured status", ct: "text/xml", body: "<a/>", spec: Spec{UnsupportedStatus: 400}, status: 400, reason: ReasonUnsupportedMediaType},
		{name: "multipart mixed", ct: "multipart/mixed; boundary=XyZ", body: mp(part("username", "a")), status: 415, reason: ReasonUnsupportedMediaType},

		{name: "form bad escape", ct: ctForm, body: "username=%zz", status: 400, reason: ReasonMalformedForm},
		{name: "form bad escape in key", ct: ctForm, body: "user%6=a", status: 400, reason: ReasonMalformedForm},
		{name: "form bad escape in password", ct: ctForm, body: "username=a&password=%4", status: 400, reason: ReasonMalformedForm},
		{name: "form semicolon", ct: ctForm, body: "username=a;smartid_data=x", status: 400, reason: ReasonMalformedForm},
		{name: "form user twice", ct: ctForm, body: "username=a&username=b", status: 400, reason: ReasonDuplicateField, field: "username"},
		{name: "form user twice escaped", ct: ctForm, body: "username=a&user%6Eame=b", status: 400, reason: ReasonDuplicateField, field: "username"},
		{name: "form device twice", ct: ctForm, body: "smartid_data=&smartid_data=x", status: 400, reason: ReasonDuplicateField, field: "smartid_data"},
		{name: "form unique twice", ct: ctForm, body: "amount=1&amount=2", spec: Spec{UniqueFields: []string{"amount"}}, status: 400, reason: ReasonDuplicateField, field: "amount"},
		{name: "form user in query too", ct: ctForm, body: "username=a", query: "username=b", status: 400, reason: ReasonQueryConflict, field: "username"},
		{name: "form device in query too", ct: ctForm, body: "smartid_data=a", query: "smartid_data=", status: 400, reason: ReasonQueryConflict, field: "smartid_data"},
		{name: "query user twice", ct: ctForm, body: "x=1", query: "username=a&username=b", status: 400, reason: ReasonDuplicateField, field: "username"},

		{name: "multipart no boundary", ct: "multipart/form-data", body: mp(part("username", "a")), status: 400, reason: ReasonMalformedMultipart},
		{name: "multipart garbage", ct: ctMultipart, body: "--XyZ\r\nno header end", status: 400, reason: ReasonMalformedMultipart},
		{name: "multipart bad disposition", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\r\n\r\nv"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart not form-data", ct: ctMultipart, body: mp("Content-Disposition: attachment; name=\"username\"\r\n\r\nv"), status: 400, reason: ReasonMalformedMultipart},
		{name: "multipart quoted-printable", ct: ctMultipart,
			body:   mp("Content-Disposition: form-data; name=\"username\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db"),
			status: 415, reason: ReasonContentEncoding},
		{name: "multipart user twice", ct: ctMultipart, body: mp(part("username", "a"), part("username", "b")), status: 400, reason: ReasonDuplicateField, field: "username"},
		{name: "multipart user in query too", ct: ctMultipart, body: mp(part("username", "a")), query: "username=a", status: 400, reason: ReasonQueryConflict, field: "username"},
		{name: "multipart too many parts", ct: ctMultipart, body: mp(part("a", "1"), part("b", "2"), part("c", "3")),
			spec: Spec{MaxParts: 2}, status: 400, reason: ReasonTooManyParts},

		// The reading policy: each is a shape some framework reads
		// differently from the guard.
		{name: "form body that is JSON", ct: ctForm, body: `{"username":"b","x":"&username=a"}`, status: 400, reason: ReasonAmbiguousMediaType},
		{name: "utf-7 form", ct: "application/x-www-form-urlencoded; charset=utf-7", body: "+AHU-sername=a", status: 415, reason: ReasonCharset},
		{name: "latin1 form", ct: "application/x-www-form-urlencoded; charset=iso-8859-1", body: "username=a", status: 415, reason: ReasonCharset},
		{name: "utf-16 json", ct: "application/json; charset=utf-16", body: `{"username":"a"}`, status: 415, reason: ReasonCharset},
		{name: "utf-7 json", ct: "application/json; charset=utf-7", body: `{"username":"a"}`, status: 415, reason: ReasonCharset},
		// Laravel's Request::isJson reads these bodies as JSON documents.
		{name: "form type naming json", ct: `application/x-www-form-urlencoded; profile="application/json"`, body: "username=a", status: 415, reason: ReasonAmbiguousMediaType},
		{name: "form type with +json", ct: "application/x-www-form-urlencoded; charset=utf-8; x=a+json", body: "username=a", status: 415, reason: ReasonAmbiguousMediaType},
		{name: "rfc2231 charset", ct: "application/x-www-form-urlencoded; charset*=utf-8''utf-7", body: "username=a", status: 415, reason: ReasonAmbiguousMediaType},
		{name: "us-ascii with 8-bit body", ct: "application/x-www-form-urlencoded; charset=us-ascii", body: "username=\xc3\xa4", status: 415, reason: ReasonCharset},
		{name: "us-ascii with escaped 8-bit user", ct: "application/x-www-form-urlencoded; charset=us-ascii", body: "username=%C3%A4", status: 400, reason: ReasonInvalidUTF8, field: "username"},
		{name: "invalid utf-8 user", ct: ctForm, body: "username=%FF", status: 400, reason: ReasonInvalidUTF8, field: "username"},
		{name: "invalid utf-8 raw user", ct: ctForm, body: "username=a\xff", status: 400, reason: ReasonInvalidUTF8, field: "username"},
		{name: "invalid utf-8 name", ct: ctForm, body: "user%FF=a", status: 400, reason: ReasonInvalidUTF8},
		{name: "leading space name", ct: ctForm, body: "+username=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "escaped space name", ct: ctForm, body: "%20username=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "trailing space name", ct: ctForm, body: "username%20=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "tab name", ct: ctForm, body: "%09username=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "bom name", ct: ctForm, body: "%EF%BB%BFusername=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "php nul truncation", ct: ctForm, body: "username%00x=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "php bracket array", ct: ctForm, body: "username%5B%5D=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "php bracket index", ct: ctForm, body: "username[0]=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "qs bracket key", ct: ctForm, body: "username[x]=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "php unclosed bracket", ct: ctForm, body: "smartid%5Bdata=a", status: 400, reason: ReasonAmbiguousName, field: "smartid_data"},
		{name: "php unclosed bracket in query", ct: ctForm, body: "username=a", query: "smartid%5Bdata=a", status: 400, reason: ReasonAmbiguousName, field: "smartid_data"},
		{name: "multipart single-quoted name", ct: ctMultipart, body: mp("Content-Disposition: form-data; name='username'\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "php dot to underscore", ct: ctForm, body: "smartid.data=a", status: 400, reason: ReasonAmbiguousName, field: "smartid_data"},
		{name: "php space to underscore", ct: ctForm, body: "smartid+data=a", status: 400, reason: ReasonAmbiguousName, field: "smartid_data"},
		{name: "aspnet case-insensitive keys", ct: ctForm, body: "UserName=a", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "aspnet kelvin fold", ct: ctForm, body: "loginid_\xe2\x84\xaawt=a", spec: Spec{UniqueFields: []string{"loginid_kwt"}}, status: 400, reason: ReasonAmbiguousName, field: "loginid_kwt"},
		{name: "spring dotted path", ct: ctForm, body: "user.email=a", spec: Spec{UserField: "user[email]"}, status: 400, reason: ReasonAmbiguousName, field: "user[email]"},
		{name: "devise parent scalar", ct: ctForm, body: "user=a&user%5Bemail%5D=b", spec: Spec{UserField: "user[email]"}, status: 400, reason: ReasonAmbiguousName, field: "user[email]"},
		{name: "devise nested deeper", ct: ctForm, body: "user[email][]=b", spec: Spec{UserField: "user[email]"}, status: 400, reason: ReasonAmbiguousName, field: "user[email]"},
		{name: "password variant", ct: ctForm, body: "username=a&password%5B%5D=x", status: 400, reason: ReasonAmbiguousName, field: "password"},
		{name: "operation field variant", ct: ctForm, body: "amount%20=5", spec: Spec{UniqueFields: []string{"amount"}}, status: 400, reason: ReasonAmbiguousName, field: "amount"},
		{name: "query name variant", ct: ctForm, body: "username=a", query: "username%5B%5D=b", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "query case variant", ct: ctForm, body: "x=1", query: "USERNAME=b", status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "json key case variant", ct: ctJSON, body: `{"UserName":"a"}`, status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "json key space variant", ct: ctJSON, body: `{"username ":"a"}`, status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "json dotted key", ct: ctJSON, body: `{"c.username":"a"}`, spec: Spec{UserField: "c.username"}, status: 400, reason: ReasonAmbiguousName, field: "c.username"},

		{name: "multipart name* wins in go", ct: ctMultipart, body: mp("Content-Disposition: form-data; name*=UTF-8''other; name=\"username\"\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart name* after name", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"username\"; name*=UTF-8''other\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart two dispositions", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"x\"\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart filename on user", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"username\"; filename=\"\"\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart, field: "username"},
		{name: "multipart charset on user part", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"username\"\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+AGE-"), status: 400, reason: ReasonCharset, field: "username"},
		{name: "multipart type on user part", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"username\"\r\nContent-Type: multipart/mixed\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart, field: "username"},
		{name: "multipart backslash in name", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"user\\name\"\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart folded header", ct: ctMultipart, body: mp("Content-Disposition: form-data;\r\n name=\"username\"\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart extra param", ct: ctMultipart, body: mp("Content-Disposition: form-data; name=\"username\"; size=1\r\n\r\na"), status: 400, reason: ReasonAmbiguousPart},
		{name: "multipart name variant", ct: ctMultipart, body: mp(part("username[]", "a")), status: 400, reason: ReasonAmbiguousName, field: "username"},
		{name: "multipart look-alike boundary", ct: "multipart/form-data; xboundary=AAA; boundary=XyZ", body: mp(part("username", "a")), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart boundary not last", ct: "multipart/form-data; boundary=XyZ; charset=utf-8", body: mp(part("username", "a")), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart duplicate boundary", ct: "multipart/form-data; boundary=XyZ; boundary=AAA", body: mp(part("username", "a")), status: 415, reason: ReasonUnsupportedMediaType},
		{name: "multipart upper-case boundary param", ct: "multipart/form-data; BOUNDARY=XyZ", body: mp(part("username", "a")), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart space around equals", ct: "multipart/form-data; boundary = XyZ", body: mp(part("username", "a")), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart boundary with comma", ct: `multipart/form-data; boundary="Xy,Z"`, body: "--Xy,Z\r\n" + part("username", "a") + "\r\n--Xy,Z--", status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart boundary*", ct: "multipart/form-data; boundary*=utf-8''XyZ", body: mp(part("username", "a")), status: 415, reason: ReasonAmbiguousMediaType},
		{name: "multipart boundary with +json", ct: "multipart/form-data; boundary=Xy+json", body: "--Xy+json\r\n" + part("username", "a") + "\r\n--Xy+json--", status: 415, reason: ReasonAmbiguousMediaType},
		{name: "multipart boundary with slash JSON", ct: `multipart/form-data; boundary="Xy/JSON"`, body: "--Xy/JSON\r\n" + part("username", "a") + "\r\n--Xy/JSON--", status: 415, reason: ReasonAmbiguousMediaType},
		{name: "multipart charset utf-7", ct: "multipart/form-data; charset=utf-7; boundary=XyZ", body: mp(part("username", "a")), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart lf-only delimiter", ct: ctMultipart, body: "--XyZ\r\n" + part("username", "a") + "\n--XyZ--\r\n", status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart delimiter with suffix", ct: ctMultipart, body: "--XyZ\r\n" + part("username", "a") + "\r\n--XyZx\r\n" + part("username", "b") + "\r\n--XyZ--", status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart preamble", ct: ctMultipart, body: "pre" + mp(part("username", "a")), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart epilogue", ct: ctMultipart, body: mp(part("username", "a")) + "--XyZ\r\n" + part("username", "b"), status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart padding after boundary", ct: ctMultipart, body: "--XyZ \r\n" + part("username", "a") + "\r\n--XyZ--", status: 400, reason: ReasonAmbiguousBoundary},
		{name: "multipart no name", ct: ctMultipart, body: mp("Content-Disposition: form-data\r\n\r\na"), status: 400, reason: ReasonMalformedMultipart},

		{name: "json malformed", ct: ctJSON, body: `{"username":}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json unterminated", ct: ctJSON, body: `{"username":"a`, status: 400, reason: ReasonMalformedJSON},
		{name: "json whitespace only", ct: ctJSON, body: " ", status: 400, reason: ReasonMalformedJSON},
		{name: "json trailing comma", ct: ctJSON, body: `{"a":1,}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json bad number", ct: ctJSON, body: `{"a":01}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json bad escape", ct: ctJSON, body: `{"a":"\x"}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json control char", ct: ctJSON, body: "{\"a\":\"\x01\"}", status: 400, reason: ReasonMalformedJSON},
		{name: "json invalid utf8", ct: ctJSON, body: "{\"username\":\"\xff\"}", status: 400, reason: ReasonMalformedJSON},
		{name: "json lone surrogate", ct: ctJSON, body: `{"username":"\ud800"}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json lone low surrogate", ct: ctJSON, body: `{"username":"\udc00x"}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json bom", ct: ctJSON, body: "\xef\xbb\xbf{}", status: 400, reason: ReasonMalformedJSON},
		{name: "json single quotes", ct: ctJSON, body: `{'username':'a'}`, status: 400, reason: ReasonMalformedJSON},
		{name: "json trailing data", ct: ctJSON, body: `{"username":"a"}{"username":"b"}`, status: 400, reason: ReasonTrailingData},
		{name: "json trailing garbage", ct: ctJSON, body: `{} x`, status: 400, reason: ReasonTrailingData},
		{name: "json user twice", ct: ctJSON, body: `{"username":"a","username":"b"}`, status: 400, reason: ReasonDuplicateField, field: "username"},
		{name: "json user case fold", ct: ctJSON, body: `{"username":"a","UserName":"b"}`, status: 400, reason: ReasonDuplicateField, field: "username"},
		{name: "json user escaped", ct: ctJSON, body: `{"user\u006eame":"a","username":"b"}`, status: 400, reason: ReasonDuplicateField, field: "username"},
		{name: "json user kelvin fold", ct: ctJSON, body: `{"kind":"a","\u212aind":"b"}`, status: 400, reason: ReasonDuplicateKey},
		{name: "json nested dup", ct: ctJSON, body: `{"a":{"x":1,"X":2}}`, status: 400, reason: ReasonDuplicateKey},
		{name: "json dup inside array", ct: ctJSON, body: `{"a":[{"k":1,"k":2}]}`, status: 400, reason: ReasonDuplicateKey},
		{name: "json password twice", ct: ctJSON, body: `{"password":"a","Password":"b"}`, status: 400, reason: ReasonDuplicateKey},
		{name: "json dup in big object", ct: ctJSON, body: `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":1,"K3":0}`, status: 400, reason: ReasonDuplicateKey},
		{name: "json dup ninth key", ct: ctJSON, body: `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"K8":9}`, status: 400, reason: ReasonDuplicateKey},
		{name: "json nested path dup", ct: ctJSON, body: `{"c":{"username":"a","USERNAME":"b"}}`, spec: Spec{UserField: "c.username"}, status: 400, reason: ReasonDuplicateField, field: "c.username"},
		{name: "json dotted key collides with path", ct: ctJSON, body: `{"c.username":"a","c":{"username":"b"}}`, spec: Spec{UserField: "c.username"}, status: 400, reason: ReasonAmbiguousName, field: "c.username"},
		{name: "json user number", ct: ctJSON, body: `{"username":1}`, status: 400, reason: ReasonFieldNotString, field: "username"},
		{name: "json user null", ct: ctJSON, body: `{"username":null}`, status: 400, reason: ReasonFieldNotString, field: "username"},
		{name: "json user object", ct: ctJSON, body: `{"username":{"a":"b"}}`, status: 400, reason: ReasonFieldNotString, field: "username"},
		{name: "json device array", ct: ctJSON, body: `{"smartid_data":["x"]}`, status: 400, reason: ReasonFieldNotString, field: "smartid_data"},
		{name: "json device bool", ct: ctJSON, body: `{"smartid_data":false}`, status: 400, reason: ReasonFieldNotString, field: "smartid_data"},
		{name: "json user in query too", ct: ctJSON, body: `{"username":"a"}`, query: "username=a", status: 400, reason: ReasonQueryConflict, field: "username"},
		{name: "json too deep", ct: ctJSON, body: deep, status: 400, reason: ReasonTooDeep},
		{name: "json too deep objects", ct: ctJSON, body: strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), status: 400, reason: ReasonTooDeep},
		{name: "json depth cap configurable", ct: ctJSON, body: okDeep, spec: Spec{MaxDepth: 31}, status: 400, reason: ReasonTooDeep},
	}
}

func TestParseRefusals(t *testing.T) {
	for _, tc := range refusals() {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(tc.ct, []byte(tc.body), q, tc.spec)
			fe := wantRefusal(t, err, tc.status, tc.reason)
			if fe.Field != tc.field {
				t.Errorf("Field = %q, want %q", fe.Field, tc.field)
			}
			if tc.field != "" && !strings.Contains(fe.Error(), `"`+tc.field+`"`) {
				t.Errorf("message %q does not name the field", fe.Error())
			}
			if _, ok := f.User(); ok {
				t.Error("a refused body still yields a user")
			}
		})
	}
}

func TestParseDepthAtCapAccepted(t *testing.T) {
	body := strings.Repeat("[", 32) + strings.Repeat("]", 32)
	if _, err := Parse(ctJSON, []byte(body), nil, Spec{}); err != nil {
		t.Fatalf("32 levels refused: %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{tooLarge(65536), "request body exceeds 65536 bytes"},
		{fieldError(ReasonDuplicateField, "username", "field %q appears twice"), `field "username" appears twice`},
		{&Error{Status: 400, Reason: "read_error"}, "request body refused: read_error"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if got := tooLarge(1).Status; got != http.StatusRequestEntityTooLarge {
		t.Errorf("tooLarge status = %d", got)
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"zero", Spec{}, true},
		{"paths", Spec{UserField: "credentials.username", UniqueFields: []string{"op.amount"}}, true},
		{"empty segment", Spec{UserField: "a..b"}, false},
		{"leading dot", Spec{DeviceField: ".d"}, false},
		{"empty unique", Spec{UniqueFields: []string{""}}, false},
		{"user is password", Spec{UserField: "Password"}, false},
		{"nested password key", Spec{UserField: "c.password"}, false},
		{"bad status", Spec{UnsupportedStatus: 200}, false},
	}
	for _, tc := range tests {
		err := tc.spec.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
