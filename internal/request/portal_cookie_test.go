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
		{[]string{"portal_session=S1; portal_session=S1"}, "S1", true}, // the same value twice
		{[]string{"portal_session=s%3AS1.x+y/z=="}, "s%3AS1.x+y/z==", true},
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
		{[]string{"my_portal_session=S2; portal_session=S1; portal_session_id=7"}, "S1", true},
		{[]string{"XSRF-TOKEN=q1w2; portal_session=S1"}, "S1", true},
		{[]string{"portal_session=S1; xsrf-portal_session=zzz"}, "S1", true}, // a longer name ending in it
		{[]string{"portal_session=S1; return_to=%2Fpay%3Fportal_session%3D9"}, "S1", true},
		{[]string{"portal_session=S1; flash=x/portal_session=1"}, "S1", true},
		{[]string{"portal_session=S1; portal_session[x]=evil"}, "", false}, // PHP: an array under the name
		{[]string{"portal_session=S1; x=y\xc2\xa0.portal_session=S2"}, "", false},
		{[]string{"portal_session=chunks-3; portal_sessionC1=x"}, "", false}, // ASP.NET's chunked cookie: the same for everyone
		{[]string{"portal_session=S1; portal+session=S2"}, "", false},        // old PHP: + as a space, then _
	} {
		r := &http.Request{Header: http.Header{"Cookie": c.cookies}}
		got, ok := PortalCookie(r, "portal_session")
		if got != c.want || ok != c.ok {
			t.Errorf("%q: got %q %v, want %q %v", c.cookies, got, ok, c.want, c.ok)
		}
	}
}

// TestPortalCookieReadAsThePortalsRead: headers in which the guard would
// find the attacker's bound value A while a real portal parser reads the
// victim's V (Django 3.2, Werkzeug 3.1 and cookie 0.6 run by an attacker
// review; ASP.NET Core and Tomcat 9 read from their source). None counts.
func TestPortalCookieReadAsThePortalsRead(t *testing.T) {
	for _, c := range []struct{ name, portal, cookie string }{
		{"sessionid", "Django (last wins, U+00A0 stripped)", "sessionid=A; \xc2\xa0sessionid=V"},
		{"sessionid", "Django (U+3000)", "sessionid=A; \xe3\x80\x80sessionid=V"},
		{"sessionid", "Django (U+0085 after the name)", "sessionid=A; sessionid\xc2\x85=V"},
		{"session", "Werkzeug (first wins, Latin-1 \\xa0 stripped)", "\xa0session=V; session=A"},
		{"connect.sid", "cookie <= 0.6 (trim)", "\xa0connect.sid=V; connect.sid=A"},
		{".AspNetCore.Session", "ASP.NET Core (',' separates, last wins)", ".AspNetCore.Session=A; x=1,.AspNetCore.Session=V"},
		{".AspNetCore.Session", "ASP.NET Core (resync after an invalid byte)", ".AspNetCore.Session=A; x=y\\.AspNetCore.Session=V"},
		{"JSESSIONID", "Tomcat 9 ($Version=1: ',' separates, first valid)", "$Version=1; x=1, JSESSIONID=V; JSESSIONID=A"},
		{"JSESSIONID", "a name spaced before '='", "JSESSIONID=A; JSESSIONID =V"},
	} {
		r := &http.Request{Header: http.Header{"Cookie": {c.cookie}}}
		if v, ok := PortalCookie(r, c.name); ok {
			t.Errorf("%s: %q counted as %q", c.portal, c.cookie, v)
		}
	}
}

// TestPortalCookieValueReadAlike: headers the differential test
// (internal/bodydiff, TestDifferentialPortalCookie) found a portal reading
// as another session than the plain cookie name=v, v the value the guard
// read: the value's quotes, blanks and bytes from 0x80 up, and Cookie
// lines the portal's server joins into one. None counts.
func TestPortalCookieValueReadAlike(t *testing.T) {
	for _, c := range []struct {
		name, portal string
		cookies      []string
	}{
		{"portal_session", "Rack, PHP (the quotes are the value's)", []string{`portal_session="S1"`}},
		{"_app_session", "Rack, PHP (a quoted value after other cookies)", []string{`lang=en-US;  _app_session="A1b2C3"`}},
		{"PHPSESSID", "Rack, PHP (a blank after the value)", []string{"PHPSESSID=A1b2C3 ; x=1"}},
		{"_app_session", "Rack, PHP (a tab before the value)", []string{"_app_session=\tA1b2C3"}},
		{"session", "Go net/http (a space before the value)", []string{"session= V9z8Y7"}},
		{"JSESSIONID", "Django (U+00A0 after the value)", []string{"q=1;\tJSESSIONID=A1\xc2\xa0; x=1"}},
		{"portal_session", "Django, Werkzeug, Rack, PHP (two lines joined with ',')", []string{"portal_session=S1", "portal_session=S1"}},
		{"_app_session", "Django, Werkzeug (the next line runs on into the value)", []string{"_app_session=V9z8Y7", "="}},
		{"portal_session", "a backslash", []string{`portal_session=S1\`}},
	} {
		r := &http.Request{Header: http.Header{"Cookie": c.cookies}}
		if v, ok := PortalCookie(r, c.name); ok {
			t.Errorf("%s: %q counted as %q", c.portal, c.cookies, v)
		}
	}
}

// TestPortalCookieWithoutAName: no cookie is called "" (and the search
// for it must not run past the line).
func TestPortalCookieWithoutAName(t *testing.T) {
	r := &http.Request{Header: http.Header{"Cookie": {"=abc; a=1"}}}
	if v, ok := PortalCookie(r, ""); ok {
		t.Fatalf("the cookie without a name read as %q", v)
	}
}
