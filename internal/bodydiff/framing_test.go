//go:build differential

package bodydiff

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// The transfer-framing differential: the other differentials send clean
// requests through Go's client, so every portal gets the framing Go
// writes. Here raw HTTP/1.1 bytes go over TCP to a real Caddy with the
// guard in front of each portal server the package runs (php-fpm through
// php_fastcgi, gunicorn, Puma, the development servers, Express, Tomcat,
// and a Go net/http portal that also reports every trailer reaching it),
// in the shapes an attacker tries on the framing: chunk
// extensions and odd chunk sizes, a login split across chunks, trailers,
// bare LFs, Content-Length beside Transfer-Encoding, two Content-Lengths,
// transfer and content codings, Expect: 100-continue, HTTP/1.0, pipelined
// requests and a body length that lies, a Connection header that names
// the headers the portal reads the body by, and no Content-Type at all.
//
// Every request carries a login with a user name of its own (alice-… or
// mallory-…, which a when rule denies), so that each side's reading can be
// told apart: what Caddy answered, what the portal read (the servers echo
// what they parsed, as in the body differential), and what the guard
// decided (X-Guard-Action and X-Guard-Reasons, set from its placeholders,
// and the user in its audit line). A case fails when the portal read a
// user the guard did not allow (a denied user, or another user than the
// one the guard judged), and when Caddy or the guard answer otherwise than
// the case expects.

// framingTarget is a form reading of the body differential with its
// server, behind the test's Caddy: X-Target: key routes to it.
type framingTarget struct {
	rd  *reading
	key string
}

// goPortalReading is a portal on Go's own server (net/http's FormValue),
// which also reports the trailers it received: Go's server hands a
// handler every trailer a request sent.
var goPortalReading = reading{name: "Go net/http FormValue (httptest server)", server: "go", path: "/form", family: familyForm, lookup: lookupFirst}

func framingTargets() []framingTarget {
	var out []framingTarget
	for i := range readings {
		if rd := &readings[i]; rd.family == familyForm && rd.server != "" {
			out = append(out, framingTarget{rd: rd, key: fmt.Sprintf("t%d", len(out))})
		}
	}
	return append(out, framingTarget{rd: &goPortalReading, key: fmt.Sprintf("t%d", len(out))})
}

// startGoPortal serves goFormRequest's reading of every request, with the
// names of the trailers that came with it.
func startGoPortal(t *testing.T) *server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := goFormRequest(r)
		_, _ = io.Copy(io.Discard, r.Body) // to the end, where the trailers are
		var trailers []string
		for k := range r.Trailer {
			trailers = append(trailers, k)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			result
			Trailer []string `json:"trailer"`
		}{res, trailers})
	}))
	t.Cleanup(srv.Close)
	return &server{base: srv.URL, version: "Go " + runtime.Version(), stderr: &bytes.Buffer{}}
}

// framingSite is the Caddyfile site: the guard on every POST, denying
// users whose name starts with mallory, then one handle per target, each
// marking its portal's answers. The guard's verdict goes into every
// answer's headers (deferred, so they hold what the guard published).
func framingSite(servers map[string]*server, targets []framingTarget) string {
	dir, _ := filepath.Abs("testdata")
	var b strings.Builder
	b.WriteString(`{{listen}} {
	header >X-Guard-Action "{http.login_guard.action}"
	header >X-Guard-Reasons "{http.login_guard.reasons}"
	@login method POST
	login_guard @login {
		event login
		when "user_raw.startsWith(\"mallory\")" deny denied_user
	}
`)
	for _, tg := range targets {
		s := servers[tg.rd.server]
		fmt.Fprintf(&b, "\t@%[1]s header X-Target %[1]s\n\thandle @%[1]s {\n", tg.key)
		if s.fastcgi != "" {
			// php-fpm behind this Caddy's own php_fastcgi, the body
			// readers' router as the front controller.
			fmt.Fprintf(&b, "\t\troot * %s\n\t\tphp_fastcgi %s {\n\t\t\tindex router.php\n\t\t\theader_down X-Upstream-Answered 1\n\t\t}\n",
				filepath.Join(dir, "php"), s.fastcgi)
		} else {
			fmt.Fprintf(&b, "\t\treverse_proxy %s {\n\t\t\theader_down X-Upstream-Answered 1\n\t\t}\n", strings.TrimPrefix(s.base, "http://"))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// frame is where a case's requests go: the Host, the target's routing
// header value and the portal's login path.
type frame struct{ host, target, path string }

const formType = "application/x-www-form-urlencoded"

// req is a request line and headers up to the blank line: Host, the
// routing header, the Content-Type (none when ct is ""), then lines.
func (f frame) req(proto, ct string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s %s\r\nHost: %s\r\nX-Target: %s\r\n", f.path, proto, f.host, f.target)
	if ct != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
	}
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// post is an HTTP/1.1 form POST's head.
func (f frame) post(lines ...string) string { return f.req("HTTP/1.1", formType, lines...) }

// formLogin is a login form body for user u.
func formLogin(u string) string { return "username=" + u + "&password=pw" }

func cl(body string) string { return fmt.Sprintf("Content-Length: %d", len(body)) }

// chunking is how a chunked body is written: the size line's format (of
// the chunk's length), the line ends after the size and after the data,
// and the last chunk with the trailer section.
type chunking struct {
	size, sizeEOL, dataEOL, last string
}

var plainChunks = chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"}

func (c chunking) encode(pieces ...string) string {
	var b strings.Builder
	for _, p := range pieces {
		fmt.Fprintf(&b, c.size, len(p))
		b.WriteString(c.sizeEOL + p + c.dataEOL)
	}
	b.WriteString(c.last)
	return b.String()
}

func chunks(pieces ...string) string { return plainChunks.encode(pieces...) }

// bytewise splits s into one-byte pieces.
func bytewise(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}

func compressed(body string, deflate bool) string {
	var b bytes.Buffer
	var w io.WriteCloser = gzip.NewWriter(&b)
	if deflate {
		w = zlib.NewWriter(&b)
	}
	_, _ = io.WriteString(w, body)
	_ = w.Close()
	return b.String()
}

// What a case expects of each answer, in order.
type wantKind uint8

const (
	// wantJudged: the guard judges login k: an alice passes to the
	// portal, a mallory is denied (403) and does not reach it.
	wantJudged wantKind = iota
	// wantServer: Go's server in Caddy answers status itself; the guard
	// never sees the request.
	wantServer
	// wantRefused: the guard refuses the request (status, reason).
	wantRefused
)

type framingWant struct {
	kind   wantKind
	login  int
	status int
	reason string
	// optional: Caddy may close the connection before this answer (after
	// an HTTP/1.0 answer it could give no length, a portal's that came
	// without one); the request must then not have been judged either.
	optional bool
}

func judged(k int) framingWant { return framingWant{kind: wantJudged, login: k} }
func byServer(status int) framingWant {
	return framingWant{kind: wantServer, status: status}
}
func refused(status int, reason string) framingWant {
	return framingWant{kind: wantRefused, status: status, reason: reason}
}

func (w framingWant) String() string {
	switch w.kind {
	case wantJudged:
		return fmt.Sprintf("the guard judges login %d", w.login)
	case wantServer:
		return fmt.Sprintf("Caddy answers %d itself", w.status)
	}
	return fmt.Sprintf("the guard refuses %d %s", w.status, w.reason)
}

// framingCase is one shape. build writes its requests for users u (one
// per login), as one or more writes: between two, the client waits for
// Caddy's 100 Continue. skip, when set, names a finding the case shows
// and that is not fixed yet.
type framingCase struct {
	name   string
	logins int
	build  func(f frame, u []string) []string
	want   []framingWant
	skip   string
}

// one is a case of a single write.
func one(name string, logins int, build func(f frame, u []string) string, want ...framingWant) framingCase {
	return framingCase{name: name, logins: logins, build: func(f frame, u []string) []string { return []string{build(f, u)} }, want: want}
}

// chunkedLogin is a case of one chunked login whose body c writes from
// the pieces split makes of the login form; extra header lines first.
func chunkedLogin(name string, c chunking, split func(body string) []string, want framingWant, extra ...string) framingCase {
	return one(name, 1, func(f frame, u []string) string {
		return f.post(append(append([]string{}, extra...), "Transfer-Encoding: chunked", "Connection: close")...) + c.encode(split(formLogin(u[0]))...)
	}, want)
}

func whole(s string) []string { return []string{s} }

// teLogin is a chunked login whose Transfer-Encoding line is te, and a
// Content-Length of the chunked body beside it when withCL.
func teLogin(name, te string, withCL bool, want framingWant) framingCase {
	return one(name, 1, func(f frame, u []string) string {
		body := chunks(formLogin(u[0]))
		lines := []string{te, "Connection: close"}
		if withCL {
			lines = append(lines, cl(body))
		}
		return f.post(lines...) + body
	}, want)
}

// clLogin is a login whose body Content-Length lines frame.
func clLogin(name string, lengths func(body string) []string, want framingWant) framingCase {
	return one(name, 1, func(f frame, u []string) string {
		body := formLogin(u[0])
		return f.post(append(lengths(body), "Connection: close")...) + body
	}, want)
}

func framingCases() []framingCase {
	ok := judged(0)
	bodyRead := refused(400, "body_read")
	return []framingCase{
		// The control: a plain login, as every client frames it.
		clLogin("content-length", func(b string) []string { return []string{cl(b)} }, ok),

		// Chunked bodies.
		chunkedLogin("chunked", plainChunks, whole, ok),
		chunkedLogin("chunk extensions", chunking{size: "%x;ext=x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0;ext=\"a;b\"\r\n\r\n"},
			func(b string) []string { return []string{b[:7], b[7:]} }, ok),
		chunkedLogin("chunk extension after blanks", chunking{size: "%x ;ext=x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"}, whole, bodyRead),
		chunkedLogin("chunk size followed by blanks", chunking{size: "%x \t", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"}, whole, ok),
		chunkedLogin("uppercase hex sizes", chunking{size: "%X", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"},
			func(b string) []string { return []string{b[:11], b[11:]} }, ok),
		chunkedLogin("sixteen-digit zero-padded sizes", chunking{size: "%016x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0000000000000000\r\n\r\n"}, whole, ok),
		chunkedLogin("seventeen-digit zero-padded size", chunking{size: "%017x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"}, whole, bodyRead),
		chunkedLogin("0x-prefixed size", chunking{size: "0x%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"}, whole, bodyRead),
		chunkedLogin("signed size", chunking{size: "+%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\n\r\n"}, whole, bodyRead),
		chunkedLogin("one byte per chunk", plainChunks, bytewise, ok),
		chunkedLogin("chunk boundary inside the field name", plainChunks, func(b string) []string { return []string{b[:4], b[4:]} }, ok),
		chunkedLogin("chunk boundary inside the user", plainChunks, func(b string) []string { return []string{b[:12], b[12:]} }, ok),
		one("chunk boundary inside a percent-escape", 1, func(f frame, u []string) string {
			// The user's first letter percent-encoded, the chunk cut
			// between the escape's two digits.
			esc := fmt.Sprintf("%%%02X", u[0][0])
			return f.post("Transfer-Encoding: chunked", "Connection: close") + chunks("username="+esc[:2], esc[2:]+u[0][1:]+"&password=pw")
		}, ok),
		// Trailers no Trailer header declared: Go's server keeps them
		// on the request it read, not on the copy Caddy's handlers get,
		// so neither the guard nor reverse_proxy sees them; they are
		// dropped (the Go portal checks that none arrives).
		chunkedLogin("undeclared trailer", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\nX-Note: 1\r\n\r\n"}, whole, ok),
		chunkedLogin("undeclared X-Login-Guard-Action trailer", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\nX-Login-Guard-Action: allow\r\n\r\n"}, whole, ok),
		chunkedLogin("undeclared Content-Type trailer", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\nContent-Type: application/json\r\n\r\n"}, whole, ok),
		chunkedLogin("declared trailer", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\nX-Note: 1\r\n\r\n"}, whole, refused(400, "trailers"), "Trailer: X-Note"),
		chunkedLogin("declared X-Login-Guard-Action trailer", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\nX-Login-Guard-Action: allow\r\n\r\n"},
			whole, refused(400, "trailers"), "Trailer: X-Login-Guard-Action"),
		chunkedLogin("declared trailer and an undeclared one", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\r\nX-Note: 1\r\nContent-Type: application/json\r\n\r\n"},
			whole, refused(400, "trailers"), "Trailer: X-Note"),
		chunkedLogin("bare LF after the chunk size", chunking{size: "%x", sizeEOL: "\n", dataEOL: "\r\n", last: "0\r\n\r\n"}, whole, bodyRead),
		chunkedLogin("bare LF after the chunk data", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\n", last: "0\r\n\r\n"}, whole, bodyRead),
		chunkedLogin("bare LF after the last chunk", chunking{size: "%x", sizeEOL: "\r\n", dataEOL: "\r\n", last: "0\n\n"}, whole, bodyRead),
		one("chunk size longer than its data, the next request inside it", 2, func(f frame, u []string) string {
			b0, b1 := formLogin(u[0]), formLogin(u[1])
			next := f.post(cl(b1), "Connection: close") + b1
			return f.post("Transfer-Encoding: chunked") + fmt.Sprintf("%x\r\n", len(b0)+40) + b0 + "\r\n0\r\n\r\n" + next
		}, bodyRead),

		// Transfer-Encoding and Content-Length together, and odd
		// Transfer-Encoding values.
		teLogin("Content-Length and Transfer-Encoding: chunked", "Transfer-Encoding: chunked", true, ok),
		one("Content-Length: 3 and Transfer-Encoding: chunked", 1, func(f frame, u []string) string {
			return f.post("Content-Length: 3", "Transfer-Encoding: chunked", "Connection: close") + chunks(formLogin(u[0]))
		}, ok),
		teLogin("Transfer-Encoding: chunked, identity", "Transfer-Encoding: chunked, identity", true, byServer(501)),
		teLogin("Transfer-Encoding: identity, chunked", "Transfer-Encoding: identity, chunked", true, byServer(501)),
		teLogin("Transfer-Encoding: gzip, chunked", "Transfer-Encoding: gzip, chunked", true, byServer(501)),
		teLogin("Transfer-Encoding: xchunked", "Transfer-Encoding: xchunked", true, byServer(501)),
		teLogin("Transfer-Encoding: identity", "Transfer-Encoding: identity", true, byServer(501)),
		teLogin("Transfer-Encoding twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", true, byServer(501)),
		teLogin("Transfer-Encoding: Chunked", "Transfer-Encoding: Chunked", false, ok),
		teLogin("transfer-encoding: CHUNKED", "transfer-encoding: CHUNKED", false, ok),
		teLogin("Transfer-Encoding:chunked", "Transfer-Encoding:chunked", false, ok),
		teLogin("Transfer-Encoding with tabs and spaces", "Transfer-Encoding: \t chunked \t", false, ok),
		teLogin("Transfer-Encoding folded", "Transfer-Encoding:\r\n chunked", true, ok),
		teLogin("Transfer-Encoding with a blank before the colon", "Transfer-Encoding : chunked", true, byServer(400)),
		teLogin("Transfer-Encoding: chunked and a vertical tab", "Transfer-Encoding: chunked\v", true, byServer(400)),
		// An underscore spelling: Caddy drops the header, the body is
		// framed by its Content-Length on both sides.
		one("Transfer_Encoding: chunked beside Content-Length", 1, func(f frame, u []string) string {
			body := formLogin(u[0])
			return f.post("Transfer_Encoding: chunked", cl(body), "Connection: close") + body
		}, ok),

		// Content-Length.
		clLogin("two equal Content-Lengths", func(b string) []string { return []string{cl(b), cl(b)} }, ok),
		clLogin("two different Content-Lengths", func(b string) []string { return []string{cl(b), cl(b + "x")} }, byServer(400)),
		clLogin("Content-Length list", func(b string) []string { return []string{fmt.Sprintf("Content-Length: %d, %d", len(b), len(b))} }, byServer(400)),
		clLogin("zero-padded Content-Length", func(b string) []string { return []string{fmt.Sprintf("Content-Length: 000%d", len(b))} }, ok),
		clLogin("signed Content-Length", func(b string) []string { return []string{fmt.Sprintf("Content-Length: +%d", len(b))} }, byServer(400)),

		// Content codings: the guard reads none.
		one("Content-Encoding: gzip", 1, func(f frame, u []string) string {
			body := compressed(formLogin(u[0]), false)
			return f.post("Content-Encoding: gzip", cl(body), "Connection: close") + body
		}, refused(415, "content_encoding")),
		one("Content-Encoding: deflate", 1, func(f frame, u []string) string {
			body := compressed(formLogin(u[0]), true)
			return f.post("Content-Encoding: deflate", cl(body), "Connection: close") + body
		}, refused(415, "content_encoding")),
		one("Content-Encoding: gzip, chunked", 1, func(f frame, u []string) string {
			return f.post("Content-Encoding: gzip", "Transfer-Encoding: chunked", "Connection: close") + chunks(compressed(formLogin(u[0]), false))
		}, refused(415, "content_encoding")),
		clLogin("Content-Encoding: identity", func(b string) []string { return []string{cl(b), "Content-Encoding: identity"} }, ok),

		// Expect: 100-continue.
		{name: "Expect: 100-continue, the body after the 100", logins: 1, build: func(f frame, u []string) []string {
			body := formLogin(u[0])
			return []string{f.post("Expect: 100-continue", cl(body), "Connection: close"), body}
		}, want: []framingWant{ok}},
		{name: "Expect: 100-continue, chunked, the body after the 100", logins: 1, build: func(f frame, u []string) []string {
			return []string{f.post("Expect: 100-continue", "Transfer-Encoding: chunked", "Connection: close"), chunks(formLogin(u[0]))}
		}, want: []framingWant{ok}},
		clLogin("Expect: 100-continue, the body at once", func(b string) []string { return []string{"Expect: 100-continue", cl(b)} }, ok),
		clLogin("Expect: 100-continuex", func(b string) []string { return []string{"Expect: 100-continuex", cl(b)} }, byServer(417)),

		// HTTP/1.0.
		one("HTTP/1.0 with Content-Length", 1, func(f frame, u []string) string {
			body := formLogin(u[0])
			return f.req("HTTP/1.0", formType, cl(body)) + body
		}, ok),
		one("HTTP/1.0 without Content-Length", 1, func(f frame, u []string) string {
			return f.req("HTTP/1.0", formType) + formLogin(u[0])
		}, refused(400, "missing_user")),
		one("HTTP/1.0 with Transfer-Encoding: chunked", 1, func(f frame, u []string) string {
			return f.req("HTTP/1.0", formType, "Transfer-Encoding: chunked") + chunks(formLogin(u[0]))
		}, refused(400, "missing_user")),
		one("HTTP/1.0 with Transfer-Encoding: chunked and Content-Length", 1, func(f frame, u []string) string {
			body := chunks(formLogin(u[0]))
			return f.req("HTTP/1.0", formType, "Transfer-Encoding: chunked", cl(body)) + body
		}, refused(400, "missing_user")),
		one("HTTP/1.0 with Expect: 100-continue", 1, func(f frame, u []string) string {
			body := formLogin(u[0])
			return f.req("HTTP/1.0", formType, "Expect: 100-continue", cl(body)) + body
		}, ok),
		one("HTTP/1.0 keep-alive, two logins in one write", 2, func(f frame, u []string) string {
			b0, b1 := formLogin(u[0]), formLogin(u[1])
			return f.req("HTTP/1.0", formType, cl(b0), "Connection: keep-alive") + b0 + f.req("HTTP/1.0", formType, cl(b1)) + b1
		}, judged(0), framingWant{kind: wantJudged, login: 1, optional: true}),

		// Pipelining and bodies whose length lies.
		one("two logins in one write", 2, func(f frame, u []string) string {
			b0, b1 := formLogin(u[0]), formLogin(u[1])
			return f.post(cl(b0)) + b0 + f.post(cl(b1), "Connection: close") + b1
		}, judged(0), judged(1)),
		one("a chunked login, then a login in the same write", 2, func(f frame, u []string) string {
			b1 := formLogin(u[1])
			return f.post("Transfer-Encoding: chunked") + chunks(formLogin(u[0])) + f.post(cl(b1), "Connection: close") + b1
		}, judged(0), judged(1)),
		one("Content-Length longer than the body, the next login inside it", 2, func(f frame, u []string) string {
			b0, b1 := formLogin(u[0])+"&x=", formLogin(u[1])
			next := f.post(cl(b1), "Connection: close")
			return f.post(fmt.Sprintf("Content-Length: %d", len(b0)+len(next))) + b0 + next + b1 + "\r\n"
		}, judged(0), byServer(400)),
		one("Content-Length shorter than the body, a second user after it", 2, func(f frame, u []string) string {
			b0 := formLogin(u[0])
			return f.post(cl(b0)) + b0 + "&username=" + u[1] + "\r\n\r\n"
		}, judged(0), byServer(400)),
		one("chunked body that ends early, the rest of the login after it", 2, func(f frame, u []string) string {
			return f.post("Transfer-Encoding: chunked") + chunks(formLogin(u[0])) + formLogin(u[1]) + "\r\n\r\n"
		}, judged(0), byServer(400)),

		// A Connection header naming the headers the body is read by:
		// Caddy's reverse_proxy and php_fastcgi remove the headers
		// Connection names before the portal sees the request. Without
		// its Content-Type, Rack reads a POST's body as a form, and
		// php_fastcgi sends PHP a form Content-Type in its place: the
		// JSON or multipart body the guard read becomes a form whose
		// user is another login's (u[1], a note the guard saw as text).
		// The framing headers are refused alike. And a body without a
		// Content-Type, which those two would read as a form, is refused
		// outright.
		one("Connection: Content-Length", 1, func(f frame, u []string) string {
			body := formLogin(u[0])
			return f.post(cl(body), "Connection: close, Content-Length") + body
		}, refused(400, "hop_by_hop_header")),
		one("Connection: Transfer-Encoding", 1, func(f frame, u []string) string {
			return f.post("Transfer-Encoding: chunked", "Connection: close, Transfer-Encoding") + chunks(formLogin(u[0]))
		}, refused(400, "hop_by_hop_header")),
		one("Connection: Content-Type, JSON body", 2, func(f frame, u []string) string {
			body := fmt.Sprintf(`{"username":%q,"password":"pw","note":"&username=%s&"}`, u[0], u[1])
			return f.req("HTTP/1.1", "application/json", cl(body), "Connection: close, Content-Type") + body
		}, refused(400, "hop_by_hop_header")),
		one("Connection: Content-Type, multipart body", 2, func(f frame, u []string) string {
			part := func(name, v string) string {
				return "--b0undary\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + v + "\r\n"
			}
			body := part("username", u[0]) + part("password", "pw") + part("note", "&username="+u[1]+"&x=") + "--b0undary--\r\n"
			return f.req("HTTP/1.1", "multipart/form-data; boundary=b0undary", cl(body), "Connection: close", "Connection: Content-Type") + body
		}, refused(400, "hop_by_hop_header")),
		one("no Content-Type", 1, func(f frame, u []string) string {
			body := formLogin(u[0])
			return f.req("HTTP/1.1", "", cl(body), "Connection: close") + body
		}, refused(415, "unsupported_media_type")),
	}
}

// framingAnswer is one answer Caddy sent.
type framingAnswer struct {
	status          int
	upstream        bool     // the portal answered (Caddy passed the request on)
	action, reasons string   // the guard's verdict, "" when it did not run
	portalStatus    string   // the portal's reading: ok, error (it refused the body)
	portal          value    // the user the portal read
	trailers        []string // the trailers the portal received (the Go portal says)
}

func (a framingAnswer) String() string {
	switch {
	case a.upstream:
		return fmt.Sprintf("%d from the portal (guard: %s %s; portal read %v)", a.status, a.action, a.reasons, a.portal)
	case a.action != "":
		return fmt.Sprintf("%d from the guard (%s %s)", a.status, a.action, a.reasons)
	}
	return fmt.Sprintf("%d from Caddy", a.status)
}

// framingRun is one case sent to one target with one set of users.
type framingRun struct {
	c       *framingCase
	tg      framingTarget
	users   []string
	raw     []string
	interim int // 1xx answers
	answers []framingAnswer
	err     error
}

// send writes the run's bytes to addr and reads every answer until Caddy
// closes the connection; between two writes it waits for 100 Continue.
func (r *framingRun) send(addr string) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		r.err = err
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for i, p := range r.raw {
		if i > 0 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				r.err = fmt.Errorf("waiting for 100 Continue: %w", err)
				return
			}
			if resp.StatusCode != http.StatusContinue {
				// A final answer before the body: nothing more is sent.
				r.answers = append(r.answers, r.read(resp))
				return
			}
			r.interim++
		}
		if _, err := io.WriteString(conn, p); err != nil {
			r.err = err
			return
		}
	}
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
				r.err = err
			}
			return
		}
		if resp.StatusCode < 200 {
			r.interim++
			continue
		}
		r.answers = append(r.answers, r.read(resp))
	}
}

func (r *framingRun) read(resp *http.Response) framingAnswer {
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := framingAnswer{status: resp.StatusCode, upstream: resp.Header.Get("X-Upstream-Answered") != "",
		action: resp.Header.Get("X-Guard-Action"), reasons: resp.Header.Get("X-Guard-Reasons")}
	if a.upstream {
		var res struct {
			result
			Trailer []string `json:"trailer"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			a.portalStatus = fmt.Sprintf("undecodable (%q)", body[:min(len(body), 80)])
		} else if a.portalStatus, a.trailers = res.Status, res.Trailer; res.Status == "ok" {
			a.portal = r.tg.rd.field(res.result, "username")
		}
	}
	return a
}

// guardUsers is what the audit lines say the guard did with each user.
type guardUsers map[string][]string

func auditUsers(g *caddytest.Guarded, t *testing.T) guardUsers {
	out := guardUsers{}
	for _, l := range g.AuditLines(t) {
		if u, ok := l["user"].(string); ok {
			a, _ := l["action"].(string)
			out[u] = append(out[u], a)
		}
	}
	return out
}

// bypasses are the run's answers in which the portal read a login the
// guard did not allow: the failures this test is about.
func (r *framingRun) bypasses(audit guardUsers) []string {
	var out []string
	for i, a := range r.answers {
		if !a.upstream {
			continue
		}
		if a.action != "allow" {
			out = append(out, fmt.Sprintf("answer %d: the portal answered a request the guard did not allow (action %q)", i, a.action))
		}
		if len(a.trailers) > 0 {
			out = append(out, fmt.Sprintf("answer %d: trailers reached the portal: %q", i, a.trailers))
		}
		switch {
		case a.portal.kind == 1 && strings.HasPrefix(a.portal.s, "mallory"):
			out = append(out, fmt.Sprintf("answer %d: the denied user %q reached the portal", i, a.portal.s))
		case a.portal.kind == 1 && !slicesEqual(audit[a.portal.s], "allow"):
			out = append(out, fmt.Sprintf("answer %d: the portal read user %q, which the guard did not allow (its audit lines for it: %q)", i, a.portal.s, audit[a.portal.s]))
		case a.portal.kind > 1:
			out = append(out, fmt.Sprintf("answer %d: the portal read the user as %v", i, a.portal))
		}
	}
	return out
}

func slicesEqual(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// mismatches are where Caddy or the guard answered otherwise than the
// case expects.
func (r *framingRun) mismatches(audit guardUsers) []string {
	var out []string
	if r.err != nil {
		out = append(out, fmt.Sprintf("connection: %v", r.err))
	}
	if len(r.raw) > 1 && r.interim == 0 {
		out = append(out, "no 100 Continue before the body")
	}
	required := 0
	for _, w := range r.c.want {
		if !w.optional {
			required++
		}
	}
	if len(r.answers) < required || len(r.answers) > len(r.c.want) {
		out = append(out, fmt.Sprintf("%d answers, want %d", len(r.answers), len(r.c.want)))
	}
	judgedUsers := map[string]bool{}
	for i, w := range r.c.want {
		if i >= len(r.answers) {
			break
		}
		a := r.answers[i]
		bad := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("answer %d, %s: got %s: ", i, w, a)+fmt.Sprintf(format, args...))
		}
		switch w.kind {
		case wantJudged:
			u := r.users[w.login]
			judgedUsers[u] = true
			if strings.HasPrefix(u, "mallory") {
				if a.status != http.StatusForbidden || a.upstream || a.action != "deny" || !strings.Contains(a.reasons, "denied_user") {
					bad("want the guard's 403 deny denied_user")
				}
				if !slicesEqual(audit[u], "deny") {
					bad("audit lines for %s: %q, want one deny", u, audit[u])
				}
			} else {
				// Python's wsgiref reads no chunked body: it may close the
				// connection while Caddy still sends it (502), allowed.
				wsgirefGone := r.tg.rd.server == "python" && a.status == http.StatusBadGateway && !a.upstream
				if (!a.upstream || a.action != "allow") && !wsgirefGone {
					bad("want the portal's answer, allowed")
				}
				if a.portal.kind != 0 && a.portal != (value{kind: 1, s: u}) {
					bad("the portal read %v, the guard judged %q", a.portal, u)
				}
				if !slicesEqual(audit[u], "allow") {
					bad("audit lines for %s: %q, want one allow", u, audit[u])
				}
			}
		case wantServer:
			if a.status != w.status || a.upstream || a.action != "" {
				bad("want Caddy's own %d", w.status)
			}
		case wantRefused:
			if a.status != w.status || a.upstream || a.action != "deny" || !strings.Contains(a.reasons, "bad_request_"+w.reason) {
				bad("want the guard's %d bad_request_%s", w.status, w.reason)
			}
		}
	}
	// The guard judged no other login of the run.
	for _, u := range r.users {
		if !judgedUsers[u] && len(audit[u]) > 0 {
			out = append(out, fmt.Sprintf("the guard judged %s (%q), which the case does not expect", u, audit[u]))
		}
	}
	return out
}

// TestDifferentialFraming: raw request framings through a real Caddy with
// the guard, in front of every form-reading portal server: the portal
// never reads a login the guard did not allow, and Caddy and the guard
// answer each shape as expected.
func TestDifferentialFraming(t *testing.T) {
	servers := maps.Clone(requireParsers(t))
	servers["go"] = startGoPortal(t)
	targets := framingTargets()
	g := caddytest.Start(t, "", framingSite(servers, targets))
	addr := strings.TrimPrefix(g.URL, "http://")
	cases := framingCases()

	// Every case to every target, twice: every login an allowed user, and
	// the last login a denied one.
	var runs []*framingRun
	for ci := range cases {
		c := &cases[ci]
		for _, tg := range targets {
			for variant := range 2 {
				r := &framingRun{c: c, tg: tg}
				for k := range c.logins {
					name := "alice"
					if variant == 1 && k == c.logins-1 {
						name = "mallory"
					}
					r.users = append(r.users, fmt.Sprintf("%s-%04d-%d", name, len(runs), k))
				}
				r.raw = c.build(frame{host: addr, target: tg.key, path: tg.rd.path}, r.users)
				runs = append(runs, r)
			}
		}
	}
	start := time.Now()
	jobs := make(chan *framingRun)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				r.send(addr)
			}
		}()
	}
	for _, r := range runs {
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	sent := time.Since(start)

	// The audit line of a login passed on is written once the portal's
	// answer has gone out: wait until every user the guard was expected to
	// judge, or that a portal read, has one (or a few seconds).
	expect := map[string]bool{}
	for _, r := range runs {
		for i, w := range r.c.want {
			if w.kind == wantJudged && i < len(r.answers) {
				expect[r.users[w.login]] = true
			}
		}
		for _, a := range r.answers {
			if a.portal.kind == 1 {
				expect[a.portal.s] = true
			}
		}
	}
	var audit guardUsers
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		audit = auditUsers(g, t)
		missing := 0
		for u := range expect {
			if len(audit[u]) == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%d cases, %d targets, %d connections in %v", len(cases), len(targets), len(runs), sent.Round(time.Millisecond))

	// The control reaches every portal: each reads the user.
	for _, r := range runs {
		if r.c == &cases[0] && len(r.answers) == 1 && !strings.HasPrefix(r.users[0], "mallory") && r.answers[0].portal != (value{kind: 1, s: r.users[0]}) {
			t.Fatalf("%s: the plain login does not reach the portal: %s", r.tg.rd.name, r.answers[0])
		}
	}
	byCase := map[*framingCase][]*framingRun{}
	for _, r := range runs {
		byCase[r.c] = append(byCase[r.c], r)
	}
	for ci := range cases {
		c := &cases[ci]
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			var readUser, readNothing, refusedBody []string
			for _, r := range byCase[c] {
				for _, b := range r.bypasses(audit) {
					t.Errorf("BYPASS %s, users %q: %s\n\trequest bytes: %q", r.tg.rd.name, r.users, b, r.raw)
				}
				for _, m := range r.mismatches(audit) {
					t.Errorf("%s, users %q: %s\n\trequest bytes: %q", r.tg.rd.name, r.users, m, r.raw)
				}
				if strings.HasPrefix(r.users[len(r.users)-1], "mallory") {
					continue
				}
				for _, a := range r.answers {
					switch {
					case !a.upstream:
					case a.portalStatus != "ok":
						refusedBody = append(refusedBody, r.tg.rd.name)
					case a.portal.kind == 0:
						readNothing = append(readNothing, r.tg.rd.name)
					default:
						readUser = append(readUser, r.tg.rd.name)
					}
				}
			}
			// What happened, from the run with allowed users on the first
			// target (Caddy and the guard answer alike on every one).
			var answers []string
			for _, a := range byCase[c][0].answers {
				if a.upstream {
					answers = append(answers, fmt.Sprintf("%d passed on (%s)", a.status, a.action))
				} else {
					answers = append(answers, a.String())
				}
			}
			msg := fmt.Sprintf("answers: %s", strings.Join(answers, "; "))
			if len(readUser)+len(readNothing)+len(refusedBody) > 0 {
				msg += fmt.Sprintf("; the portal read the guard's user on %d targets", len(readUser))
				if len(readNothing) > 0 {
					msg += fmt.Sprintf(", nothing on %s", strings.Join(dedupe(readNothing), ", "))
				}
				if len(refusedBody) > 0 {
					msg += fmt.Sprintf(", refused the body on %s", strings.Join(dedupe(refusedBody), ", "))
				}
			}
			t.Log(msg)
		})
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
