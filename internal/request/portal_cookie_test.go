package request

import (
	"net/http"
	"testing"
)

// TestPortalCookie: the portal's session cookie counts only when no other
// cookie of the request could be read as it by some portal's parser.
func TestPortalCookie(t *testing.T) {
	for _, c := range []struct {
		cookies []string
		want    string
		ok      bool
	}{
		{[]string{"a=1; portal_session=S1; b=2"}, "S1", true},
		{[]string{`portal_session="S1"`}, "S1", true},
		{[]string{"portal_session=S1", "portal_session=S1"}, "S1", true}, // the same value twice
		{[]string{"a=1"}, "", false},
		{[]string{"portal_session="}, "", false},
		{[]string{"portal_session=S1; portal_session=S2"}, "", false},   // Django reads S2, Express S1
		{[]string{"portal_session=S1", "portal_session=S2"}, "", false}, // in two header lines
		{[]string{"portal_session=S1; portal%5Fsession=S2"}, "", false}, // PHP decodes the name
		{[]string{"portal_session=S1; portal.session=S2"}, "", false},   // PHP: . as _
		{[]string{"portal_session=S1; portal session=S2"}, "", false},   // PHP: space as _
		{[]string{"portal_session=S1; Portal_Session=S2"}, "", false},
		{[]string{"portal.session=S2; portal_session=S1"}, "", false}, // the look-alike first
		{[]string{"portal_sessionx=S2; portal_session=S1"}, "S1", true},
	} {
		r := &http.Request{Header: http.Header{"Cookie": c.cookies}}
		got, ok := PortalCookie(r, "portal_session")
		if got != c.want || ok != c.ok {
			t.Errorf("%q: got %q %v, want %q %v", c.cookies, got, ok, c.want, c.ok)
		}
	}
}
