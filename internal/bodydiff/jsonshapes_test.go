//go:build differential

package bodydiff

import (
	"strings"
	"testing"
)

// jsonShapes are JSON logins the mutation corpus draws on only by chance
// or not at all: escaped and duplicate keys, surrogates, nesting, numbers
// and keys a framework puts elsewhere (Rails' ParamsWrapper reads a JSON
// body's keys under params[:session], or the session object the request
// brings itself, in the body or the query string).
var jsonShapes = []struct{ name, body, query string }{
	{name: "escaped key", body: `{"user\u006eame":"alice","password":"x"}`},
	{name: "escaped duplicate", body: `{"username":"alice","\u0075sername":"mallory"}`},
	{name: "escaped upper-case duplicate", body: `{"username":"alice","\u0055sername":"mallory"}`},
	{name: "surrogate pair", body: `{"username":"\ud83d\ude00"}`},
	{name: "lone low surrogate", body: `{"username":"\udc00"}`},
	{name: "high surrogate then a letter", body: `{"username":"\ud800\u0041"}`},
	{name: "lone surrogate elsewhere", body: `{"username":"alice","x":"\ud800"}`},
	{name: "lone surrogate in a key", body: `{"username":"alice","x\udfff":1}`},
	{name: "invalid UTF-8 elsewhere", body: "{\"username\":\"alice\",\"x\":\"\xc3\"}"},
	{name: "overlong UTF-8", body: "{\"username\":\"\xc1\xa1lice\"}"},
	{name: "BOM", body: "\ufeff{\"username\":\"alice\"}"},
	{name: "NUL after", body: "{\"username\":\"alice\"}\x00"},
	{name: "form feed after", body: "{\"username\":\"alice\"}\f"},
	{name: "escaped solidus", body: `{"username":"al\/ice"}`},
	{name: "escaped NUL", body: `{"username":"alice\u0000mallory"}`},
	{name: "number user", body: `{"username":12345}`},
	{name: "big number user", body: `{"username":12345678901234567890}`},
	{name: "nesting 31", body: `{"username":"alice","x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`},
	{name: "nesting 600", body: `{"username":"alice","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`},
	{name: "long string", body: `{"username":"alice","x":"` + strings.Repeat("a", 60000) + `"}`},
	{name: "long user", body: `{"username":"` + strings.Repeat("a", 20000) + `"}`},
	{name: "__proto__", body: `{"username":"alice","__proto__":{"username":"mallory"}}`},
	{name: "amount -0", body: `{"username":"alice","amount":-0}`},
	{name: "amount 1.0", body: `{"username":"alice","amount":1.0}`},
	// Rails' ParamsWrapper.
	{name: "flat login", body: `{"username":"alice","password":"x"}`},
	{name: "session object beside the flat user", body: `{"username":"alice","password":"x","session":{"username":"mallory","password":"y"}}`},
	{name: "session object alone", body: `{"session":{"username":"mallory","password":"y"}}`},
	{name: "other object beside the flat user", body: `{"username":"alice","user":{"username":"mallory"}}`},
	{name: "device under session", body: `{"username":"alice","smartid_data":"d","session":{"smartid_data":"e"}}`},
	{name: "amount under session", body: `{"username":"alice","amount":"5","session":{"amount":"500"}}`},
	{name: "session in the query", body: `{"username":"alice","password":"x"}`, query: "session%5Busername%5D=mallory"},
	{name: "dotted session in the query", body: `{"username":"alice","password":"x"}`, query: "session.username=mallory"},
}

// TestDifferentialJSONShapes: each of jsonShapes and inputShapes
// (inputshapes_test.go) is refused, or every parser reads the guarded
// fields as the guard does.
func TestDifferentialJSONShapes(t *testing.T) {
	servers := requireParsers(t)
	var cases []Case
	for _, s := range jsonShapes {
		cases = append(cases, Case{Name: "json shape: " + s.name, ContentType: "application/json", Body: []byte(s.body), Query: s.query, Spec: "default"})
	}
	for _, s := range inputShapes {
		cases = append(cases, Case{Name: "input shape: " + s.name, ContentType: s.ct, Body: []byte(s.body), Query: s.query, Spec: "default"})
	}
	outs := runAll(t, servers, cases)
	refused := 0
	for _, o := range outs {
		if o.guard.err != nil {
			refused++
			t.Logf("%s: refused (%s)", o.c.Name, o.guard.err.Reason)
			continue
		}
		if !o.guard.replay {
			t.Errorf("%s: the body passed on is not byte for byte the one sent", o.c.Name)
		}
		for _, d := range o.disagreements() {
			t.Errorf("%s: %s", o.c.Name, d)
		}
	}
	t.Logf("%d JSON and input shapes: %d refused, %d passed and read alike", len(cases), refused, len(cases)-refused)
}
