//go:build differential

package bodydiff

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/request"
)

// The cookie differential: the guard binds its session to the portal's
// session cookie as request.PortalCookie reads it, so whenever that counts
// a value, every portal framework must read that cookie as the same
// session. Each Cookie header of the corpus goes, as raw bytes, to the
// same servers as the bodies (their /cookie endpoints), each reading the
// cookie the way its sessions do.
//
// "The same session" is what the framework reads from the plain cookie
// name=v, v the guard's value: the control. Frameworks decode values their
// own ways (Rack and PHP percent-decode them and read + as a space, the
// cookie package and Django strip quotes), always the same way for the
// same bytes, so what matters is that the header reads as the plain cookie
// does, not that the bytes are v's. The test also counts the readings
// that are not byte for byte v, to show how often that decoding applies.

// cookieSeed and cookieCorpusSize: the generated corpus, fixed so a
// failure can be replayed.
const (
	cookieSeed       = 20270105
	cookieCorpusSize = 2000
)

// cookieNames are session cookie names as portals use them, with the
// characters that parsers treat specially: dots (PHP mangles them), an
// underscore (%5F, '+', ' ' and '.' all reach it in PHP), case.
var cookieNames = []string{
	"portal_session", "sessionid", "JSESSIONID", "connect.sid", "PHPSESSID",
	".AspNetCore.Session", "session", "_app_session",
}

// cookieCase is one request's Cookie header lines and the name the guard
// is configured with.
type cookieCase struct {
	label string
	name  string
	lines []string
}

// cookieAttackCases are the headers of internal/request's unit tests
// (TestPortalCookie, TestPortalCookieReadAsThePortalsRead,
// TestPortalCookieValueReadAlike).
func cookieAttackCases() []cookieCase {
	cs := []cookieCase{}
	for _, lines := range [][]string{
		{"a=1; portal_session=S1; b=2"},
		{"portal_session=S1; portal_session=S1"},
		{"portal_session=s%3AS1.x+y/z=="},
		{"a=1"},
		{"portal_session="},
		{"portal_session=S1; portal_session=S2"},
		{"portal_session=S1", "portal_session=S2"},
		{"portal_session=S1; portal%5Fsession=S2"},
		{"portal_session=S1; portal.session=S2"},
		{"portal_session=S1; portal session=S2"},
		{"portal_session=S1; Portal_Session=S2"},
		{"portal.session=S2; portal_session=S1"},
		{"portal_sessionx=S2; portal_session=S1"},
		{"my_portal_session=S2; portal_session=S1; portal_session_id=7"},
		{"portal_session=chunks-3; portal_sessionC1=x"},
		{"portal_session=S1; portal+session=S2"},
	} {
		cs = append(cs, cookieCase{label: "unit", name: "portal_session", lines: lines})
	}
	for _, c := range []struct{ name, cookie string }{
		{"sessionid", "sessionid=A; \xc2\xa0sessionid=V"},
		{"sessionid", "sessionid=A; \xe3\x80\x80sessionid=V"},
		{"sessionid", "sessionid=A; sessionid\xc2\x85=V"},
		{"session", "\xa0session=V; session=A"},
		{"connect.sid", "\xa0connect.sid=V; connect.sid=A"},
		{".AspNetCore.Session", ".AspNetCore.Session=A; x=1,.AspNetCore.Session=V"},
		{".AspNetCore.Session", ".AspNetCore.Session=A; x=y\\.AspNetCore.Session=V"},
		{"JSESSIONID", "$Version=1; x=1, JSESSIONID=V; JSESSIONID=A"},
		{"JSESSIONID", "JSESSIONID=A; JSESSIONID =V"},
	} {
		cs = append(cs, cookieCase{label: "attack", name: c.name, lines: []string{c.cookie}})
	}
	for _, c := range []struct {
		name  string
		lines []string
	}{
		{"portal_session", []string{`portal_session="S1"`}},
		{"_app_session", []string{`lang=en-US;  _app_session="A1b2C3"`}},
		{"PHPSESSID", []string{"PHPSESSID=A1b2C3 ; x=1"}},
		{"_app_session", []string{"_app_session=\tA1b2C3"}},
		{"session", []string{"session= V9z8Y7"}},
		{"JSESSIONID", []string{"q=1;\tJSESSIONID=A1\xc2\xa0; x=1"}},
		{"portal_session", []string{"portal_session=S1", "portal_session=S1"}},
		{"_app_session", []string{"_app_session=V9z8Y7", "="}},
		{"portal_session", []string{`portal_session=S1\`}},
	} {
		cs = append(cs, cookieCase{label: "value read alike", name: c.name, lines: c.lines})
	}
	return cs
}

// Pieces the generator draws from.
var (
	cookieBlanks = []string{" ", "\t", "\xa0", "\xc2\xa0", "\xe3\x80\x80", "\xc2\x85", "\x85", "  "}
	cookieSeps   = []string{";", "; ", ";", "; ", ",", ", ", " ;", ";\t", ";;", " , "}
	// The bound value's forms, and values that decode, quote or carry
	// separators.
	cookieValues = []string{"A1b2C3", "A1b2C3", "A1b2C3", "A1b2C3", `"A1b2C3"`, "", "A1+b2", "A1%2Bb2", "A1%41",
		"s%3AA1.sig", `A1\"x`, "A1,x=1", "A1 b2", "A1\xc2\xa0", "j:{}", `"A1b2C3`, "A1=b2", "A1b2C3 ", "\tA1b2C3"}
	cookieOthers = []string{"x=1", "a=b", "$Version=1", "$Version=\"1\"", "$Path=/", "junk", "=", "=x", "x=y\\",
		`q="a;b"`, "x=1,y=2", "lang=en-US", "x", "\\", "%=1"}
)

// nameVariant is a name some parser might read as name: case changed,
// '_' and '.' spelled as PHP decodes or mangles them, blanks around it,
// quotes or a '$', or a longer name containing it.
func nameVariant(r *rand.Rand, name string) string {
	switch r.IntN(12) {
	case 0: // one letter's case
		b := []byte(name)
		for range 8 {
			i := r.IntN(len(b))
			if c := b[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				b[i] ^= 0x20
				break
			}
		}
		return string(b)
	case 1:
		if r.IntN(2) == 0 {
			return strings.ToLower(name)
		}
		return strings.ToUpper(name)
	case 2, 3: // '_' or '.' as PHP reads it, or an encoding of it
		alts := []string{"%5F", "%5f", "+", " ", ".", "[", "%2E", "%2e", "_", "%20"}
		b := []byte(name)
		for i := range b {
			if b[i] == '_' || b[i] == '.' {
				return name[:i] + alts[r.IntN(len(alts))] + name[i+1:]
			}
		}
		return "%" + hex.EncodeToString([]byte{name[0]}) + name[1:]
	case 4, 5: // blanks before
		return cookieBlanks[r.IntN(len(cookieBlanks))] + name
	case 6, 7: // blanks after
		return name + cookieBlanks[r.IntN(len(cookieBlanks))]
	case 8:
		return `"` + name + `"`
	case 9:
		return "$" + name
	case 10:
		return []string{"x", "my_", "_", "."}[r.IntN(4)] + name
	default:
		return name + []string{"x", "_id", "C1", "[a]", "[]", "\\"}[r.IntN(6)]
	}
}

// cookieCorpus is n seeded Cookie headers, each for one of cookieNames:
// the name's cookie given plainly (often with the bound value A1b2C3,
// sometimes in another form), other cookies, and cookies named as some
// parser could read the name, with the victim's value V9z8Y7; joined with
// ';', ',' and blanks, sometimes over several Cookie lines.
func cookieCorpus(seed uint64, n int) []cookieCase {
	out := make([]cookieCase, 0, n)
	for i := range n {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		name := cookieNames[r.IntN(len(cookieNames))]
		var pieces []string
		if r.IntN(7) == 0 {
			pieces = append(pieces, []string{"$Version=1", `$Version="1"`, "$Version=0"}[r.IntN(3)])
		}
		for range 1 + r.IntN(4) {
			var p string
			switch k := r.IntN(20); {
			case k < 5:
				p = name + "=A1b2C3"
			case k < 9:
				p = name + "=" + cookieValues[r.IntN(len(cookieValues))]
			case k < 14:
				p = nameVariant(r, name) + "=" + []string{"V9z8Y7", `"V9z8Y7"`, "", "V9z8Y7,x=1"}[r.IntN(4)]
			case k < 15:
				p = name + []string{" =", "= ", "\t=", "=\xc2\xa0"}[r.IntN(4)] + "V9z8Y7"
			default:
				p = cookieOthers[r.IntN(len(cookieOthers))]
			}
			if r.IntN(8) == 0 {
				p = cookieBlanks[r.IntN(len(cookieBlanks))] + p
			}
			pieces = append(pieces, p)
		}
		// Lines: the pieces in order, cut at random piece boundaries.
		lines := []string{""}
		for j, p := range pieces {
			last := &lines[len(lines)-1]
			switch {
			case j == 0:
			case r.IntN(10) == 0:
				lines = append(lines, "")
				last = &lines[len(lines)-1]
			default:
				*last += cookieSeps[r.IntN(len(cookieSeps))]
			}
			*last += p
		}
		// Blanks at the end of a line are not the header's (RFC 9110,
		// 5.5): Go's server drops them before the guard reads the line,
		// as nginx and Apache do before PHP's; PHP's built-in server
		// alone keeps them ("PHPSESSID=A " reads "A "), which no guard
		// behind Go's server can see.
		for j := range lines {
			lines[j] = strings.TrimRight(lines[j], " \t")
		}
		out = append(out, cookieCase{label: fmt.Sprintf("generated %d", i), name: name, lines: lines})
	}
	return out
}

// rawCookieRequest is the request the servers get: a GET of /cookie with
// the name in the query, the header lines as they are (no client
// library's checks in between).
func rawCookieRequest(host, name string, lines []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET /cookie?n=%s HTTP/1.1\r\nHost: %s\r\n", hex.EncodeToString([]byte(name)), host)
	for _, l := range lines {
		b.WriteString("Cookie: " + l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.Bytes()
}

// cookieReads is what one server read: reading name -> value (a string,
// a list of strings for Tomcat's every candidate, nil when absent); nil
// when the server refused the request (a status other than 200).
type cookieReads map[string]*tv

// cookieAnswer is a server's /cookie answer.
type cookieAnswer struct {
	Status string      `json:"status"`
	Detail string      `json:"detail"`
	Reads  cookieReads `json:"reads"`
}

func (s *server) readCookie(name string, lines []string) (cookieReads, error) {
	var err error
	for range 3 {
		var reads cookieReads
		if reads, err = s.readCookieOnce(name, lines); err == nil {
			return reads, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, err
}

func (s *server) readCookieOnce(name string, lines []string) (cookieReads, error) {
	host := strings.TrimPrefix(s.base, "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(rawCookieRequest(host, name, lines)); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil // refused: the portal reads no cookie
	}
	var a cookieAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("undecodable answer %q: %v", body, err)
	}
	if a.Status != "ok" {
		return nil, fmt.Errorf("status %q: %s", a.Status, a.Detail)
	}
	if a.Reads == nil {
		a.Reads = cookieReads{}
	}
	return a.Reads, nil
}

// goRequest is the request as Go's server (Caddy's) reads the raw bytes;
// nil when it refuses them.
func goRequest(name string, lines []string) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(rawCookieRequest("127.0.0.1", name, lines))))
	if err != nil {
		return nil
	}
	return r
}

// goCookie is net/http's r.Cookie(name), in process.
func goCookie(r *http.Request, name string) cookieReads {
	if r == nil {
		return nil
	}
	c, err := r.Cookie(name)
	if err != nil {
		return cookieReads{"Go net/http r.Cookie": nil}
	}
	return cookieReads{"Go net/http r.Cookie": str(c.Value)}
}

// cookieStrings are the values a reading yields: one, or Tomcat's list;
// other shapes (PHP's array for a name[] cookie, cookie-parser's JSON
// cookie) are no session id, so none.
func cookieStrings(v *tv) (vals []string, other bool) {
	if v == nil {
		return nil, false
	}
	if s, ok := v.str(); ok {
		return []string{s}, false
	}
	if v.L != nil {
		for _, x := range v.L {
			if s, ok := x.str(); ok {
				vals = append(vals, s)
			}
		}
		return vals, false
	}
	return nil, true
}

// cookieServers are the servers with a /cookie endpoint, in report order:
// the production front servers too (production_test.go), which join and
// pass on Cookie lines their own way (php-fpm gets them from Caddy).
var cookieServers = []string{"php", "python", "ruby", "node", "java", "phpfpm", "gunicorn", "puma"}

// readAllCookie runs one header through every server and Go.
func readAllCookie(servers map[string]*server, name string, lines []string) (map[string]cookieReads, error) {
	out := map[string]cookieReads{"go": goCookie(goRequest(name, lines), name)}
	for _, sv := range cookieServers {
		reads, err := servers[sv].readCookie(name, lines)
		if err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", sv, err, tail(servers[sv].stderr))
		}
		out[sv] = reads
	}
	return out, nil
}

// TestDifferentialPortalCookie: whenever request.PortalCookie counts a
// value v for a Cookie header, every framework that reads a value for that
// cookie from the header reads what it reads from the plain cookie name=v.
// A framework reading nothing is no other session; the guard may refuse
// headers every framework reads alike (it reports how many).
func TestDifferentialPortalCookie(t *testing.T) {
	servers := requireParsers(t)
	t.Logf("parsers: %s", versions(servers))
	// Every server reads a plain cookie: a server that answered nothing
	// (a front server not passing the request on) would read no cookie
	// anywhere, and agree with everything.
	plain, err := readAllCookie(servers, "sessionid", []string{"sessionid=abc123"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range cookieServers {
		if len(plain[sv]) == 0 {
			t.Fatalf("%s reads no cookie from %q", sv, "sessionid=abc123")
		}
		for rd, v := range plain[sv] {
			if vals, _ := cookieStrings(v); len(vals) != 1 || vals[0] != "abc123" {
				t.Fatalf("%s: %s reads %q from %q", sv, rd, vals, "sessionid=abc123")
			}
		}
	}
	cases := append(cookieAttackCases(), cookieCorpus(cookieSeed, cookieCorpusSize)...)

	type outcome struct {
		c     cookieCase
		v     string
		ok    bool
		goErr bool
		reads map[string]cookieReads
	}
	outs := make([]outcome, len(cases))
	controls := map[[2]string]map[string]cookieReads{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan int)
	var failed error
	control := func(name, v string) map[string]cookieReads {
		k := [2]string{name, v}
		mu.Lock()
		c, ok := controls[k]
		mu.Unlock()
		if ok {
			return c
		}
		c, err := readAllCookie(servers, name, []string{name + "=" + v})
		mu.Lock()
		defer mu.Unlock()
		if err != nil && failed == nil {
			failed = err
		}
		controls[k] = c
		return c
	}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c := cases[i]
				o := outcome{c: c}
				r := goRequest(c.name, c.lines)
				if r == nil {
					o.goErr = true // Go's server (Caddy's) refuses it: the guard never sees it
				} else {
					o.v, o.ok = request.PortalCookie(r, c.name)
				}
				reads, err := readAllCookie(servers, c.name, c.lines)
				if err != nil {
					mu.Lock()
					if failed == nil {
						failed = err
					}
					mu.Unlock()
				}
				o.reads = reads
				if o.ok {
					control(c.name, o.v)
				}
				outs[i] = o
			}
		}()
	}
	start := time.Now()
	for i := range cases {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if failed != nil {
		t.Fatalf("a cookie reader failed: %v", failed)
	}

	var accepted, refused, goRefused, agreeRefused, notBytes, others, failures int
	decoded := map[string]int{}
	for _, o := range outs {
		if o.goErr {
			goRefused++
			continue
		}
		readers := sortedReadings(o.reads)
		if !o.ok {
			refused++
			// Over-refusal: every framework that read the cookie read the
			// same, and at least one did.
			seen, same := "", true
			any := false
			for _, rd := range readers {
				vals, _ := cookieStrings(o.reads[rd[0]][rd[1]])
				for _, s := range vals {
					if !any {
						seen, any = s, true
					} else if s != seen {
						same = false
					}
				}
			}
			if any && same {
				agreeRefused++
			}
			continue
		}
		accepted++
		ctl := controls[[2]string{o.c.name, o.v}]
		for _, rd := range readers {
			got := o.reads[rd[0]][rd[1]]
			vals, other := cookieStrings(got)
			if other {
				if others++; others > 5 {
					continue
				}
				t.Logf("%s: %s reads %s=%s, no session id (%q)", o.c.label, rd[1], o.c.name, mustJSON(got), o.c.lines)
				continue
			}
			want, _ := cookieStrings(ctl[rd[0]][rd[1]])
			for _, s := range vals {
				if len(want) > 0 && s == want[0] && s != o.v {
					notBytes++
					decoded[rd[1]]++
				}
				if len(want) == 0 || s != want[0] {
					if failures++; failures <= 40 {
						w := "nothing"
						if len(want) > 0 {
							w = fmt.Sprintf("%q", want[0])
						}
						t.Errorf("%s: Cookie %q, guard's %s: %q\n\t%s reads %q; from the plain cookie %s=%q it reads %s",
							o.c.label, o.c.lines, o.c.name, o.v, rd[1], s, o.c.name, o.v, w)
					}
				}
			}
		}
	}
	if failures > 40 {
		t.Errorf("... %d disagreements in all", failures)
	}
	if accepted < len(cases)/8 {
		t.Errorf("only %d of %d Cookie headers counted by the guard: the corpus tests little beyond refusals", accepted, len(cases))
	}
	var ds []string
	for k, n := range decoded {
		ds = append(ds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(ds)
	t.Logf("%d Cookie headers in %v: %d counted by the guard, %d not (%d of those read alike by every framework that read the cookie), %d refused by Go's server",
		len(cases), time.Since(start).Round(time.Millisecond), accepted, refused, agreeRefused, goRefused)
	t.Logf("on counted headers, %d readings were not byte for byte the guard's value but were the plain cookie's (the framework's own decoding: %s); %d were no session id",
		notBytes, strings.Join(ds, ", "), others)
}

// sortedReadings lists (server, reading) pairs in a fixed order.
func sortedReadings(reads map[string]cookieReads) [][2]string {
	var out [][2]string
	for sv, rs := range reads {
		for rd := range rs {
			out = append(out, [2]string{sv, rd})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
