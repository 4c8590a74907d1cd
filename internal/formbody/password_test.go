package formbody

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// pw is distinctive enough that finding any of it in an error or in Fields
// can only mean a leak.
const pw = "Pw-Zebra-7f3a91-Secret"

// withPassword adds pw as a password field to a refusal's body, in the
// body's own syntax, so every refusal path runs with a password inside.
func withPassword(tc refusal) []string {
	switch {
	case strings.HasPrefix(tc.body, "{") && len(tc.body) > 2:
		return []string{`{"password":"` + pw + `",` + tc.body[1:], `{"password":"` + pw + `","nested":{"password":"` + pw + `"},` + tc.body[1:]}
	case strings.Contains(tc.body, "--XyZ"):
		return []string{"--XyZ\r\n" + part("password", pw) + "\r\n" + tc.body}
	default:
		return []string{"password=" + pw + "&" + tc.body, tc.body + "&Password=" + pw, tc.body + "&password=" + url.QueryEscape(pw)}
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	for _, tc := range refusals() {
		for i, body := range withPassword(tc) {
			q, _ := url.ParseQuery(tc.query)
			_, err := Parse(tc.ct, []byte(body), q, tc.spec)
			if err == nil {
				// Adding the password may not make a refused body
				// acceptable.
				t.Errorf("%s/%d: accepted once a password was added", tc.name, i)
				continue
			}
			assertNoSecret(t, tc.name, err.Error())
		}
	}
}

func TestPasswordNeverInFields(t *testing.T) {
	tests := []struct {
		name, ct, body, query string
		spec                  Spec
	}{
		{"form", ctForm, "username=a&password=" + pw + "&smartid_data=d", "", Spec{}},
		{"form escaped key", ctForm, "username=a&p%61ssword=" + url.QueryEscape(pw), "", Spec{}},
		{"form case", ctForm, "username=a&PASSWORD=" + pw, "", Spec{}},
		{"form second password field", ctForm, "username=a&otp=" + pw, "", Spec{PasswordFields: []string{"password", "otp"}}},
		{"multipart", ctMultipart, mp(part("username", "a"), part("password", pw)), "", Spec{}},
		{"json", ctJSON, `{"username":"a","password":"` + pw + `"}`, "", Spec{}},
		{"json escaped key", ctJSON, `{"username":"a","p\u0061ssword":"` + pw + `"}`, "", Spec{}},
		{"json nested", ctJSON, `{"c":{"username":"a","Password":"` + pw + `"}}`, "", Spec{UserField: "c.username"}},
		{"json password object", ctJSON, `{"password":{"value":"` + pw + `","list":["` + pw + `"]}}`, "", Spec{}},
		{"json configured path", ctJSON, `{"auth":{"secret":"` + pw + `"}}`, "", Spec{PasswordFields: []string{"auth.secret"}}},
		{"query password", ctForm, "username=a", "password=" + pw, Spec{}},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		f, err := Parse(tc.ct, []byte(tc.body), q, tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		assertNoSecret(t, tc.name, fmt.Sprintf("%#v", f))
		for _, name := range []string{"password", "Password", "c.Password", "password.value", "auth.secret", "otp"} {
			if v, ok := f.Get(name); ok {
				t.Errorf("%s: Get(%q) = %q", tc.name, name, v)
			}
		}
	}
}

func assertNoSecret(t *testing.T, name, text string) {
	t.Helper()
	for _, frag := range []string{pw, "Zebra", "7f3a91", url.QueryEscape(pw)} {
		if strings.Contains(text, frag) {
			t.Errorf("%s: password fragment %q leaked: %s", name, frag, text)
		}
	}
}
