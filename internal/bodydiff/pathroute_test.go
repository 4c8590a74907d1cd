//go:build differential

package bodydiff

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// The path-routing differential: the operator selects the login POST with
// a Caddy matcher, and whatever the matcher does not select reaches the
// portal unguarded. So every spelling of the login path that a portal's
// framework routes to its login handler must be selected by the matcher
// docs/configuration.md recommends for that framework. Each framework's
// server (the same long-lived ones as the body and cookie differentials)
// declares a login route the way an application on it does and answers
// loginMarker from it; the corpus of path spellings goes to each, as raw
// request lines (no client library cleans them first), and then through a
// real Caddy with the recommended matcher in front of the framework.

// TestMain keeps Caddy's autosave and storage out of the developer's home;
// run with caddyChildEnv set, the binary is Caddy (production_test.go).
func TestMain(m *testing.M) {
	if os.Getenv(caddyChildEnv) != "" {
		caddycmd.Main()
		return
	}
	caddytest.Main(m)
}

const loginMarker = "login-route-reached"

// oldDocsMatcher is what docs/configuration.md recommended for every
// framework before this test: the variants a framework routes to its login
// handler and this misses are bypasses of a guard configured as that
// advice said.
const oldDocsMatcher = "method POST\npath_regexp login (?i)^/api/login/?(;.*)?$"

// pathFramework is one framework's login route: the server it runs in, the
// X-Router header that selects it there, the path it declares, and the
// name its matcher has in the docs.
type pathFramework struct {
	name   string // as the docs' snippet comment names it
	label  string // the framework and its front server, in messages
	server string
	router string
	login  string
}

var pathFrameworks = []pathFramework{
	{name: "PHP", label: "PHP (php -S)", server: "php", login: "/api/login.php"},
	{name: "Django", label: "Django (wsgiref)", server: "python", router: "django", login: "/api/login"},
	{name: "Flask", label: "Flask (wsgiref)", server: "python", router: "werkzeug", login: "/api/login"},
	{name: "Rails", label: "Rails (WEBrick)", server: "ruby", router: "rails", login: "/api/login"},
	{name: "Rack", label: "Rack (WEBrick)", server: "ruby", router: "rack", login: "/api/login"},
	{name: "Express", label: "Express", server: "node", login: "/api/login"},
	{name: "Tomcat", label: "Tomcat", server: "java", login: "/api/login"},
	// The production front servers (production_test.go). php-fpm is
	// reached through Caddy's php_fastcgi, the guard with the docs' PHP
	// matcher in the same Caddy.
	{name: "PHP", label: "PHP (php-fpm, Caddy php_fastcgi)", server: "phpfpm", login: "/api/login.php"},
	{name: "Symfony", label: "Symfony front controller (php-fpm, Caddy php_fastcgi)", server: "phpfront", login: "/api/login"},
	{name: "Django", label: "Django (gunicorn)", server: "gunicorn", router: "django", login: "/api/login"},
	{name: "Flask", label: "Flask (gunicorn)", server: "gunicorn", router: "werkzeug", login: "/api/login"},
	{name: "Rails", label: "Rails (Puma)", server: "puma", router: "rails", login: "/api/login"},
	{name: "Rack", label: "Rack (Puma)", server: "puma", router: "rack", login: "/api/login"},
}

// hostPlaceholder in a variant is the Host the request goes to, for the
// absolute form of the request target.
const hostPlaceholder = "{host}"

// pathVariants are spellings of base (the login path) that some server or
// framework may read as base: every letter's case, every byte
// percent-encoded (lower- and upper-case hex), what may follow the path
// (a slash, a dot, blanks and control bytes, ;params, a format or script
// suffix, dot segments, a fragment), ;params and dot segments after each
// segment, doubled slashes, look-alikes that case-fold or normalise to a
// letter, and the absolute form.
func pathVariants(base string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	add(base)
	upper := strings.ToUpper(base)
	add(upper)
	for i := range len(base) {
		c := base[i]
		if c >= 'a' && c <= 'z' {
			add(base[:i] + string(c-32) + base[i+1:])
		}
		if i > 0 { // the first '/' encoded is no origin-form target
			add(base[:i] + fmt.Sprintf("%%%02x", c) + base[i+1:])
			add(base[:i] + fmt.Sprintf("%%%02X", c) + base[i+1:])
		}
		if c == '/' {
			add(base[:i] + "//" + base[i+1:])
			add(base[:i] + "/./" + base[i+1:])
			add(base[:i] + "/%2e/" + base[i+1:])
			add(base[:i] + "/x/../" + base[i+1:])
			add(base[:i] + "/x/%2e%2e/" + base[i+1:])
			add(base[:i] + "/x/..;/" + base[i+1:])
			add(base[:i] + "/;x" + base[i:]) // an empty segment with a ;param
			add(base[:i] + "/x/.;/.." + base[i:])
			add(base[:i] + `\` + base[i+1:])
			add(base[:i] + "%5c" + base[i+1:])
			if i > 0 { // a ;param on the segment before
				add(base[:i] + ";x=y/" + base[i+1:])
				add(base[:i] + ";/" + base[i+1:])
				add(base[:i] + "%3bx=y/" + base[i+1:])
			} else {
				add("/;x=y" + base)
			}
		}
		// Look-alikes: letters that Unicode case-folds to an ASCII
		// letter, and full-width letters (NFKC folds them), raw UTF-8
		// and percent-encoded.
		var alikes []string
		switch c {
		case 'i':
			alikes = []string{"\u0131", "\u0130"} // dotless i, capital I with dot
		case 'k':
			alikes = []string{"\u212a"} // Kelvin sign
		case 's':
			alikes = []string{"\u017f"} // long s
		}
		if c >= 'a' && c <= 'z' {
			alikes = append(alikes, string(rune(0xff41+int(c-'a')))) // full width
		}
		for _, a := range alikes {
			add(base[:i] + a + base[i+1:])
			var enc strings.Builder
			for _, b := range []byte(a) {
				fmt.Fprintf(&enc, "%%%02X", b)
			}
			add(base[:i] + enc.String() + base[i+1:])
		}
	}
	for _, suffix := range []string{
		"/", "//", "/.", "/..", "/x/..", "/%2e", ".", "..", "%2e", "%2E", "~", "+",
		"%20", "%09", "%0a", "%0d", "%00", "%00.json", "%0b", "%0c", "%a0", "%c2%a0", "%e3%80%80",
		";", ";x=y", ";jsessionid=1", "/;x=y", ";/", ".;", "..;/", "%3b", "%3bx=y", "%3B",
		"%2f", "%2F", "%5c", `\`, "%252f", "%25", "%",
		"#", "#x", "%23", "?", "?x=1", "%3f", "%3F",
		".json", ".xml", ".html", ".JSON", ".php", ".php/x", "/x", "/x/", ".json/", ".json;x=y",
		".x.y", "%2ejson", ".php%00", ".php.", "/index", "-", "_",
		// Dot segments after the login path: Caddy's matchers see the
		// path cleaned (/api/login/../x is /api/x to them), while a
		// framework that routes the raw path by prefix does not.
		"/.;x", "/x/..;x", "/x/..;/",
		"/../x", "/../..", "/../../x", "/%2e%2e/x", "/..%2fx", "/x/../../x", "/./../x",
	} {
		add(base + suffix)
		add(upper + suffix)
	}
	// A front controller's script named before the path it routes
	// (PATH_INFO), as php_fastcgi splits it.
	for _, prefix := range []string{"//", "/./", "/x/../", "/%2e/", "/../", "/index.php/", "/INDEX.PHP/", "/index.php//", "/index.php/x/../", "/index.php%2f", "/x.php/", "/index.php/index.php/"} {
		add(prefix + base[1:])
	}
	add("http://" + hostPlaceholder + base)
	add("http://" + hostPlaceholder + "//" + base[1:])
	// Request headers a front server takes for the mount point and strips
	// from the path it routes (gunicorn before 22.0 reads SCRIPT_NAME
	// from the request): after headerSep, header lines sent with the
	// target.
	for _, h := range []string{"SCRIPT_NAME", "script_name", "Script-Name", "X-Script-Name"} {
		add("/x" + base + headerSep + h + ": /x")
	}
	return out
}

// headerSep in a variant separates the request target from header lines
// sent with it.
const headerSep = "\n"

// passesAsOtherPath reports the variants that reach a framework's login
// handler sent straight to its server but that Caddy passes on as a
// request the framework routes elsewhere (it answers 404): no bypass,
// since the portal is reached through Caddy alone.
//   - A #fragment in the request line: gunicorn drops it and routes
//     /api/login#x as /api/login, but Caddy passes the '#' on
//     percent-encoded, /api/login%23x.
//   - A SCRIPT_NAME header (any case; not Script-Name, which gunicorn does
//     not take): gunicorn before 22.0 takes it for the mount point and
//     strips it from the path it routes, /x/api/login with SCRIPT_NAME /x
//     as /api/login; Caddy drops every request header with an underscore
//     (its servers' expected_underscore_headers option; never list
//     SCRIPT_NAME there in front of gunicorn), so gunicorn routes
//     /x/api/login.
func passesAsOtherPath(v string) bool {
	target, headers, _ := strings.Cut(v, headerSep)
	return strings.Contains(target, "#") || strings.Contains(headers, "_")
}

// loginForm is the login every variant carries.
const loginForm = "username=a&password=b"

// rawRequest sends a request for target to addr with the request line as
// it is, the method as given, and body as a form unless it is empty (no
// body, no Content-Type), and returns the answer (nil when the server
// closed the connection without one).
func rawRequest(addr, router, method, target, body string) (*http.Response, string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	target, extra, _ := strings.Cut(target, headerSep)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, strings.ReplaceAll(target, hostPlaceholder, addr), addr)
	for line := range strings.SplitSeq(extra, headerSep) {
		if line != "" {
			fmt.Fprintf(&b, "%s\r\n", line)
		}
	}
	if router != "" {
		fmt.Fprintf(&b, "X-Router: %s\r\n", router)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", len(body))
	}
	fmt.Fprintf(&b, "Connection: close\r\n\r\n%s", body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, "", nil // no answer: the server refused the request line
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp, string(got), nil
}

// pathAnswer is what one request got.
type pathAnswer struct {
	status   int  // 0: no answer
	reached  bool // the login handler answered
	upstream bool // through Caddy: the framework answered (Caddy passed it on)
	body     string
}

// sendAll sends every variant to addr as a login POST, a few at a time.
func sendAll(t *testing.T, addr, router string, variants []string) []pathAnswer {
	t.Helper()
	return sendAllMethod(t, addr, router, http.MethodPost, variants)
}

// sendAllMethod is sendAll with the method of the requests; a method
// written after pageMethod sends no body.
func sendAllMethod(t *testing.T, addr, router, method string, variants []string) []pathAnswer {
	t.Helper()
	return sendEach(t, addr, router, len(variants), func(i int) (string, string) { return method, variants[i] })
}

// sendEach sends n requests to addr, a few at a time, request i with the
// method and target req gives (the login form as its body, none for a
// method written after pageMethod).
func sendEach(t *testing.T, addr, router string, n int, req func(i int) (method, target string)) []pathAnswer {
	t.Helper()
	out := make([]pathAnswer, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				method, target := req(i)
				reqBody := loginForm
				if m, ok := strings.CutPrefix(method, pageMethod); ok {
					method, reqBody = m, ""
				}
				resp, body, err := rawRequest(addr, router, method, target, reqBody)
				if resp == nil && err == nil {
					// No answer: the server refused the request line, or
					// a worker was replaced mid-request on a busy machine
					// (gunicorn's timeout); once more tells them apart.
					time.Sleep(200 * time.Millisecond)
					resp, body, err = rawRequest(addr, router, method, target, reqBody)
				}
				if err != nil {
					mu.Lock()
					firstErr = fmt.Errorf("%s %s: %w", method, target, err)
					mu.Unlock()
					continue
				}
				if resp != nil {
					out[i] = pathAnswer{status: resp.StatusCode, reached: strings.Contains(body, loginMarker), upstream: resp.Header.Get("X-Upstream-Answered") != "", body: body}
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("sending to %s: %v", addr, firstErr)
	}
	return out
}

// throughCaddy sends every variant through a Caddy that guards what
// matcher (the lines of a named matcher's block) selects (the guard
// refuses every address, so a guarded request answers 403) and passes the
// rest to the framework, marking the framework's answers.
func throughCaddy(t *testing.T, upstream, router, matcher string, variants []string) []pathAnswer {
	t.Helper()
	return methodThroughCaddy(t, "reverse_proxy "+upstream, router, matcher, http.MethodPost, variants)
}

// methodThroughCaddy is throughCaddy with the method of the requests, and
// the directive that reaches the framework (reverse_proxy or php_fastcgi,
// and its arguments).
func methodThroughCaddy(t *testing.T, proxy, router, matcher, method string, variants []string) []pathAnswer {
	t.Helper()
	return sendAllMethod(t, guardingCaddy(t, proxy, matcher), router, method, variants)
}

// guardingCaddy starts a Caddy that guards what matcher selects in front
// of proxy and returns its address.
func guardingCaddy(t *testing.T, proxy, matcher string) string {
	t.Helper()
	site := fmt.Sprintf(`{{listen}} {
	@login {
		%s
	}
	login_guard @login {
		event login
		deny_ip 127.0.0.0/8
	}
	%s {
		header_down X-Upstream-Answered 1
	}
}`, matcher, proxy)
	return strings.TrimPrefix(caddytest.Start(t, "", site).URL, "http://")
}

// docsMatchers reads the matcher docs/configuration.md recommends for each
// framework: the lines of the @login block of each ```caddyfile fence in
// the section on matching the login path (tab-joined, as they go into a
// Caddyfile), keyed by the first word of the fence's first line, a
// comment naming the framework. Each must hold a path, path_regexp or
// vars_regexp line.
func docsMatchers(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Matching the login path in every form the app answers to\n")
	if !ok {
		t.Fatal("docs/configuration.md has no section on matching the login path")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	fence := regexp.MustCompile("(?s)```caddyfile site\n# ([A-Za-z]+)[^\n]*\n(.*?)```")
	block := regexp.MustCompile(`(?s)@login \{\n(.*?)\n\}`)
	matcherLine := regexp.MustCompile(`(?m)^\s*((?:path_regexp|vars_regexp) login .*|path .*)$`)
	out := map[string]string{}
	for _, m := range fence.FindAllStringSubmatch(section, -1) {
		b := block.FindStringSubmatch(m[2])
		if b == nil || !matcherLine.MatchString(b[1]) {
			continue
		}
		var lines []string
		for l := range strings.SplitSeq(b[1], "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		out[m[1]] = strings.Join(lines, "\n\t\t")
	}
	return out
}

// TestDifferentialLoginPathRouting: every spelling of the login path that
// a framework routes to its login handler is selected by the matcher the
// docs recommend for that framework, so none reaches the portal unguarded.
func TestDifferentialLoginPathRouting(t *testing.T) {
	servers := requireParsers(t)
	t.Logf("servers: %s", versions(servers))
	recommended := docsMatchers(t)
	for _, fw := range pathFrameworks {
		s := servers[fw.server]
		addr := strings.TrimPrefix(s.base, "http://")
		if s.unguarded != "" {
			addr = s.unguarded
		}
		variants := pathVariants(fw.login)
		direct := sendAll(t, addr, fw.router, variants)
		if !direct[0].reached {
			t.Fatalf("%s: %s does not reach the login handler (status %d)\n%s", fw.label, fw.login, direct[0].status, tail(s.stderr))
		}
		// The login handler names the server that ran it.
		if want := serverIdent[fw.server]; !strings.Contains(direct[0].body, want) {
			t.Fatalf("%s: the login handler answered %q, not from the server started (want %q in it)", fw.label, direct[0].body, want)
		}
		if other := sendAll(t, addr, fw.router, []string{"/api/logout"}); other[0].reached {
			t.Fatalf("%s: /api/logout reaches the login handler", fw.label)
		}
		var reached []string
		for i, v := range variants {
			if direct[i].reached {
				reached = append(reached, v)
			}
		}
		var oldMissed []string
		if s.guarded == "" {
			old := throughCaddy(t, addr, fw.router, oldDocsMatcher, variants)
			for i, v := range variants {
				if direct[i].reached && old[i].status != http.StatusForbidden {
					oldMissed = append(oldMissed, fmt.Sprintf("%q (through Caddy: %d, handler reached: %v)", v, old[i].status, old[i].reached))
				}
			}
		}
		t.Logf("%s: %d of %d variants reach the login handler: %q", fw.label, len(reached), len(variants), reached)
		if s.guarded == "" {
			t.Logf("%s: the old docs matcher misses %d: %s", fw.label, len(oldMissed), strings.Join(oldMissed, ", "))
		}
		matcher, ok := recommended[fw.name]
		if !ok {
			t.Errorf("%s: docs/configuration.md recommends no matcher (a ```caddyfile site fence whose first line is a comment starting with %q)", fw.label, fw.name)
			continue
		}
		var via []pathAnswer
		if s.guarded != "" {
			// The guard is in the Caddy in front, with the docs' matcher.
			via = sendAll(t, s.guarded, fw.router, variants)
		} else {
			via = throughCaddy(t, addr, fw.router, matcher, variants)
		}
		var selected, refused, passedHarmless int
		for i, v := range variants {
			switch {
			case via[i].status == http.StatusForbidden && !via[i].upstream:
				selected++
			case direct[i].reached && via[i].upstream && !via[i].reached && via[i].status == http.StatusNotFound && passesAsOtherPath(v):
				passedHarmless++
			case direct[i].reached && via[i].upstream:
				t.Errorf("%s: %q reaches the login handler, and %s does not select it: Caddy passes it on (%d)", fw.label, v, matcher, via[i].status)
			case via[i].reached:
				t.Errorf("%s: %q reaches the login handler through Caddy unguarded (%d)", fw.label, v, via[i].status)
			case !via[i].upstream:
				refused++
			}
		}
		t.Logf("%s: %s selects %d of %d variants; Caddy refuses %d itself; %d reach the framework through Caddy as another path it answers 404", fw.label, matcher, selected, len(variants), refused, passedHarmless)
	}
}
