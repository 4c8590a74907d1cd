package rules

import (
	"net/http"
	"testing"
)

// TestRepeatedHeader: a header a when rule reads that comes on two field
// lines is reported (the rule would see "legacy, legacy", a framework
// "legacy"); headers no rule reads may repeat; a rule that reads the map
// some other way counts every header as read.
func TestRepeatedHeader(t *testing.T) {
	twice := func(name string) http.Header {
		return http.Header{"X-Client": {"legacy", "legacy"}, name: {"a", "b"}}
	}
	cases := []struct {
		expr     string
		h        http.Header
		repeated bool
	}{
		{`"x-client" in headers && headers["x-client"] == "legacy"`, twice("Accept"), true},
		{`headers.x_other == "1"`, twice("Accept"), false},
		{`"x-client" in headers`, http.Header{"X-Client": {"legacy"}, "Accept": {"a", "b"}}, false},
		{`has(headers.accept)`, twice("Accept"), true},
		{`headers.exists(k, k.startsWith("x-"))`, twice("Accept"), true},
		{`size(headers) > 0`, http.Header{"A": {"1"}}, false},
		{`size(headers) > 0`, http.Header{"A": {"1", "2"}}, true},
		{`user_agent.contains("bot")`, twice("Accept"), false},
	}
	for _, c := range cases {
		r, err := ParseWhen(c.expr, "deny")
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		p, err := NewPolicy(PolicyConfig{Rules: []Rule{r}})
		if err != nil {
			t.Fatal(err)
		}
		if _, got := p.RepeatedHeader(c.h); got != c.repeated {
			t.Errorf("%s over %v: repeated = %v, want %v", c.expr, c.h, got, c.repeated)
		}
	}
}
