package formbody

import (
	"net/url"
	"strings"
	"testing"
)

const (
	ctForm      = "application/x-www-form-urlencoded"
	ctJSON      = "application/json"
	ctMultipart = "multipart/form-data; boundary=XyZ"
)

// mp builds a multipart/form-data body with boundary XyZ from raw parts
// (each a header block, a blank line and content).
func mp(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--XyZ\r\n")
		b.WriteString(p)
		b.WriteString("\r\n")
	}
	b.WriteString("--XyZ--\r\n")
	return b.String()
}

func part(name, value string) string {
	return "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
}

// want describes the expected Fields: User, Device and extra Get lookups;
// a nil pointer means absent.
type want struct {
	user, device *string
	get          map[string]string
	absent       []string
}

func s(v string) *string { return &v }

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		ct    string
		body  string
		query string
		spec  Spec
		want  want
	}{
		{name: "form login", ct: ctForm,
			body: "username=alice&password=hunter2&smartid_data=eyJhIjoxfQ%3D%3D",
			want: want{user: s("alice"), device: s("eyJhIjoxfQ=="), absent: []string{"password"}}},
		{name: "form charset", ct: "application/x-www-form-urlencoded; charset=UTF-8",
			body: "username=b%C3%B6b+x&smartid_data=", want: want{user: s("böb x"), device: s("")}},
		{name: "form empty device is present", ct: ctForm, body: "username=a&smartid_data",
			want: want{user: s("a"), device: s("")}},
		{name: "form no device", ct: ctForm, body: "username=a",
			want: want{user: s("a"), absent: []string{"smartid_data"}}},
		{name: "form escaped key", ct: ctForm, body: "user%6Eame=a&amount=12.50&&x=1",
			want: want{user: s("a"), get: map[string]string{"amount": "12.50", "x": "1"}}},
		{name: "form escaped password key dropped", ct: ctForm, body: "username=a&pass%77ord=x&PASSWORD=y",
			want: want{user: s("a"), absent: []string{"password", "pass%77ord", "PASSWORD"}}},
		{name: "form names exact", ct: ctForm, body: "username=a&UserAgent=x&username_confirm=b",
			want: want{user: s("a"), get: map[string]string{"UserAgent": "x", "username_confirm": "b"}}},
		{name: "form jquery charset", ct: "application/x-www-form-urlencoded; charset=UTF-8", body: "username=a",
			want: want{user: s("a")}},
		{name: "form quoted charset", ct: `application/x-www-form-urlencoded; charset="utf-8"`, body: "username=a",
			want: want{user: s("a")}},
		{name: "form utf8 alias", ct: "application/x-www-form-urlencoded;charset=utf8", body: "username=a",
			want: want{user: s("a")}},
		{name: "form ascii charset", ct: "application/x-www-form-urlencoded; charset=US-ASCII", body: "username=a",
			want: want{user: s("a")}},
		{name: "devise bracket name", ct: ctForm, body: "authenticity_token=t&user%5Bemail%5D=a%40b.c&user%5Bpassword%5D=x&user%5Bremember_me%5D=1",
			spec: Spec{UserField: "user[email]", PasswordFields: []string{"user[password]"}},
			want: want{user: s("a@b.c"), get: map[string]string{"user[remember_me]": "1"}, absent: []string{"user[password]"}}},
		{name: "symfony bracket name", ct: ctForm, body: "login_form%5Busername%5D=a&login_form%5Bpassword%5D=x&login_form%5B_token%5D=t",
			spec: Spec{UserField: "login_form[username]", PasswordFields: []string{"login_form[password]"}},
			want: want{user: s("a"), absent: []string{"login_form[password]"}}},
		{name: "multipart chromium file", ct: "multipart/form-data; boundary=----WebKitFormBoundaryAbC123",
			body: "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nj\u00fcrgen\r\n" +
				"------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n--x\r\n" +
				"------WebKitFormBoundaryAbC123--\r\n",
			want: want{user: s("jürgen"), absent: []string{"doc"}}},
		{name: "form repeated untracked field first wins", ct: ctForm, body: "username=a&tag=1&tag=2",
			want: want{user: s("a"), get: map[string]string{"tag": "1"}}},
		{name: "custom fields", ct: ctForm, body: "login=a&fp=d&pin=1234&secret=x",
			spec: Spec{UserField: "login", DeviceField: "fp", PasswordFields: []string{"pin", "secret"}},
			want: want{user: s("a"), device: s("d"), absent: []string{"pin", "secret", "username"}}},

		{name: "multipart login", ct: ctMultipart,
			body: mp(part("username", "alice"), part("password", "hunter2"), part("smartid_data", "p==")),
			want: want{user: s("alice"), device: s("p=="), absent: []string{"password"}}},
		{name: "multipart file part skipped", ct: "multipart/form-data; boundary=\"XyZ\"",
			body: mp(part("username", "a"),
				"Content-Disposition: form-data; name=\"attachment\"; filename=\"x.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nBIN",
				part("note", "hi")),
			want: want{user: s("a"), get: map[string]string{"note": "hi"}, absent: []string{"attachment"}}},
		{name: "multipart empty value", ct: ctMultipart, body: mp(part("smartid_data", "")),
			want: want{device: s("")}},
		{name: "multipart 8bit transfer", ct: ctMultipart,
			body: mp("Content-Disposition: form-data; name=\"username\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\nä"),
			want: want{user: s("ä")}},

		{name: "json login", ct: ctJSON,
			body: `{"username":"alice","password":"hunter2","smartid_data":"p==","amount":12.5,"ok":true,"n":null,"o":{"k":"v"},"a":[1,"x"]}`,
			want: want{user: s("alice"), device: s("p=="),
				get:    map[string]string{"amount": "12.5", "ok": "true", "o.k": "v"},
				absent: []string{"password", "n", "o", "a"}}},
		{name: "json whitespace", ct: "application/json; charset=utf-8",
			body: " \r\n\t{ \"username\" : \"a\" , \"smartid_data\" : \"\" } \n",
			want: want{user: s("a"), device: s("")}},
		{name: "json nested path", ct: ctJSON,
			body: `{"credentials":{"username":"a","password":"p"},"device":{"smartid_data":"d"},"credentials2":{"password":{"x":"y"}}}`,
			spec: Spec{UserField: "credentials.username", DeviceField: "device.smartid_data"},
			want: want{user: s("a"), device: s("d"),
				absent: []string{"credentials.password", "credentials2.password", "credentials2.password.x", "username"}}},
		{name: "json names exact", ct: ctJSON, body: `{"username":"a","Amount":-1.5e+3}`,
			want: want{user: s("a"), get: map[string]string{"Amount": "-1.5e+3"}, absent: []string{"amount", "AMOUNT"}}},
		{name: "json escapes", ct: ctJSON, body: `{"user\u006eame":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`,
			want: want{user: s("a\"\\/\b\f\n\r\té😀")}},
		{name: "json top-level array", ct: ctJSON, body: `[{"username":"a"}]`,
			want: want{absent: []string{"username"}}},
		{name: "json top-level scalar", ct: ctJSON, body: `"username"`, want: want{}},
		{name: "json dotted key", ct: ctJSON, body: `{"a.b":"1"}`, want: want{get: map[string]string{"a.b": "1"}}},
		{name: "json password at depth dropped", ct: ctJSON, body: `{"x":{"y":{"PassWord":"p","z":"1"}}}`,
			want: want{get: map[string]string{"x.y.z": "1"}, absent: []string{"x.y.PassWord", "x.y.password"}}},

		{name: "empty body no type", ct: "", body: "", want: want{}},
		{name: "empty body odd type", ct: "text/plain", body: "", want: want{}},
		{name: "empty body multipart without boundary", ct: "multipart/form-data", body: "", want: want{}},
		{name: "query only user", ct: ctForm, body: "smartid_data=d", query: "username=q",
			want: want{user: s("q"), device: s("d")}},
		{name: "query only with empty body", ct: "", body: "", query: "username=q&smartid_data=",
			want: want{user: s("q"), device: s("")}},
		{name: "query other fields ignored", ct: ctJSON, body: `{"username":"a"}`, query: "amount=5",
			want: want{user: s("a"), absent: []string{"amount"}}},
		{name: "query unique field", ct: ctForm, body: "username=a", query: "amount=5",
			spec: Spec{UniqueFields: []string{"amount"}},
			want: want{user: s("a"), get: map[string]string{"amount": "5"}}},
		{name: "query password never taken", ct: ctForm, body: "username=a", query: "password=p",
			want: want{user: s("a"), absent: []string{"password"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(tc.ct, []byte(tc.body), q, tc.spec)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkFields(t, f, tc.want)
		})
	}
}

func checkFields(t *testing.T, f Fields, w want) {
	t.Helper()
	u, ok := f.User()
	switch {
	case w.user == nil && ok:
		t.Errorf("User() = %q, want absent", u)
	case w.user != nil && (!ok || u != *w.user):
		t.Errorf("User() = %q, %v; want %q", u, ok, *w.user)
	}
	d, ok := f.Device()
	switch {
	case w.device == nil && ok:
		t.Errorf("Device() = %q, want absent", d)
	case w.device != nil && (!ok || d != *w.device):
		t.Errorf("Device() = %q, %v; want %q", d, ok, *w.device)
	}
	for name, v := range w.get {
		if got, ok := f.Get(name); !ok || got != v {
			t.Errorf("Get(%q) = %q, %v; want %q", name, got, ok, v)
		}
	}
	for _, name := range w.absent {
		if got, ok := f.Get(name); ok {
			t.Errorf("Get(%q) = %q, want absent", name, got)
		}
	}
}
