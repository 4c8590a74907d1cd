package formbody

import (
	"errors"
	"net/url"
	"testing"
)

// TestJSONWrappedKeys: a guarded key at another path of a JSON body, or
// ending a nested query name beside one, is refused; Rails' ParamsWrapper
// reads params[:session][:username] from {"session":{...}} or
// ?session[username]= when the request has them, and from the flat keys
// when it has not (the differential's "Rails params[:session]" reading).
func TestJSONWrappedKeys(t *testing.T) {
	nested := Spec{UserField: "credentials.email", PasswordFields: []string{"credentials.password"}}
	op := Spec{UniqueFields: []string{"amount"}}
	cases := []struct {
		name, body, query string
		spec              Spec
		refused           bool
	}{
		{name: "flat", body: `{"username":"alice","password":"x","remember":true}`},
		{name: "nested config", body: `{"credentials":{"email":"a","password":"x"}}`, spec: nested},
		{name: "other nested keys", body: `{"username":"alice","meta":{"client":"web"}}`},
		{name: "session object", body: `{"username":"alice","session":{"username":"mallory"}}`, refused: true},
		{name: "any object", body: `{"username":"alice","user":{"USERNAME":"mallory"}}`, refused: true},
		{name: "deeper", body: `{"username":"alice","a":{"b":{"username":"mallory"}}}`, refused: true},
		{name: "device", body: `{"username":"alice","session":{"smartid_data":"x"}}`, refused: true},
		{name: "amount", body: `{"username":"alice","amount":5,"transfer":{"amount":500}}`, spec: op, refused: true},
		{name: "flat twin of a nested user", body: `{"email":"mallory"}`, spec: nested, refused: true},
		{name: "nested user beside its flat twin", body: `{"credentials":{"email":"a"},"email":"b"}`, spec: nested, refused: true},
		{name: "session in the query", body: `{"username":"alice"}`, query: "session%5Busername%5D=mallory", refused: true},
		{name: "dotted session in the query", body: `{"username":"alice"}`, query: "session.Username=mallory", refused: true},
		{name: "other query", body: `{"username":"alice"}`, query: "lang=en&next=%2F"},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		_, err := Parse("application/json", []byte(c.body), q, c.spec)
		var fe *Error
		switch {
		case c.refused && !(errors.As(err, &fe) && fe.Reason == ReasonAmbiguousName):
			t.Errorf("%s: %v, want %s", c.name, err, ReasonAmbiguousName)
		case !c.refused && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		}
	}
}
