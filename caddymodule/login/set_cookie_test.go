package login

import (
	"net/http"
	"testing"
)

// TestSetCookieValue: the value a browser keeps after the response: the
// last Set-Cookie of the name, none after a deletion.
func TestSetCookieValue(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  string
	}{
		{[]string{"sid=new; Path=/; HttpOnly"}, "new"},
		{[]string{"sid=old; Path=/", "sid=new; Path=/"}, "new"}, // the old session, then the regenerated one
		{[]string{"other=x", "sid=new"}, "new"},
		{[]string{"sid=new", "sid=; Max-Age=0"}, ""},
		{[]string{"sid=new", "sid=deleted; Max-Age=-1"}, ""},
		{[]string{"sid=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}, ""},
		{[]string{"sid=new; Expires=Fri, 01 Jan 2100 00:00:00 GMT"}, "new"},
		{nil, ""},
	} {
		if got := setCookieValue(http.Header{"Set-Cookie": c.lines}, "sid"); got != c.want {
			t.Errorf("%q: %q, want %q", c.lines, got, c.want)
		}
	}
}
