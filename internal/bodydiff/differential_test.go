//go:build differential

package bodydiff

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Seed and size of the mutation corpus; the seed is fixed so a failure can
// be replayed, and the fuzz target starts from the same cases.
const (
	corpusSeed = 20261130
	corpusSize = 3200
)

// family is how a portal reads a body: as form fields ($_POST,
// request.POST, req.body from a form parser) or as a JSON document.
type family uint8

const (
	familyForm family = iota
	familyJSON
)

// lookup is how a framework's application code reads one field from what
// the parser built.
type lookup uint8

const (
	lookupFirst  lookup = iota // name -> list, first value (Werkzeug .get, Go FormValue)
	lookupLast                 // name -> list, last value (Django .get, busboy events)
	lookupNested               // bracket names build nested maps (PHP, Rack, qs, multer)
	lookupFlat                 // name -> string, or an array when repeated (querystring)
	lookupJSON                 // dotted path into the decoded document
	// Laravel's data_get: a dotted path (a bracket name's segments, as an
	// app reads user[email] with input('user.email')) into the input the
	// reader reports, the body merged over the query string.
	lookupDotted
)

// reading is one parser a portal may use.
type reading struct {
	name   string
	server string // key into the servers map; "" for in-process Go readings
	path   string
	family family
	lookup lookup
	local  func(c Case) result // in-process readings
	// ownFamily: the reader reads both families (Laravel's input()),
	// and this reading of it is sent only the bodies of its family.
	ownFamily bool
}

var readings = []reading{
	{name: "PHP $_POST", server: "php", path: "/form", family: familyForm, lookup: lookupNested},
	{name: "PHP json_decode", server: "php", path: "/json", family: familyJSON, lookup: lookupJSON},
	{name: "Django request.POST", server: "python", path: "/django", family: familyForm, lookup: lookupLast},
	{name: "Werkzeug request.form", server: "python", path: "/werkzeug", family: familyForm, lookup: lookupFirst},
	{name: "Python json.loads", server: "python", path: "/json", family: familyJSON, lookup: lookupJSON},
	{name: "Rack request.POST", server: "ruby", path: "/form", family: familyForm, lookup: lookupNested},
	{name: "Ruby JSON.parse", server: "ruby", path: "/json", family: familyJSON, lookup: lookupJSON},
	// A Rails API controller: ParamsWrapper puts a JSON body's keys under
	// params[:session] unless the request has that key, and the controller
	// reads the login from there.
	{name: "Rails params[:session] (ParamsWrapper)", server: "ruby", path: "/rails", family: familyJSON, lookup: lookupJSON},
	{name: "Express urlencoded extended (qs) + multer", server: "node", path: "/extended", family: familyForm, lookup: lookupNested},
	{name: "Express urlencoded simple (querystring) + busboy", server: "node", path: "/simple", family: familyForm, lookup: lookupFlat},
	{name: "Express json (body-parser)", server: "node", path: "/json", family: familyJSON, lookup: lookupJSON},
	{name: "Tomcat getParameter (Spring Boot)", server: "java", path: "/form", family: familyForm, lookup: lookupFirst},
	{name: "Jackson (Spring Boot @RequestBody)", server: "java", path: "/json", family: familyJSON, lookup: lookupJSON},
	// The production front servers (production_test.go).
	{name: "PHP-FPM $_POST (Caddy php_fastcgi)", server: "phpfpm", path: "/form", family: familyForm, lookup: lookupNested},
	{name: "PHP-FPM json_decode (Caddy php_fastcgi)", server: "phpfpm", path: "/json", family: familyJSON, lookup: lookupJSON},
	{name: "Django request.POST (gunicorn)", server: "gunicorn", path: "/django", family: familyForm, lookup: lookupLast},
	{name: "Werkzeug request.form (gunicorn)", server: "gunicorn", path: "/werkzeug", family: familyForm, lookup: lookupFirst},
	{name: "Python json.loads (gunicorn)", server: "gunicorn", path: "/json", family: familyJSON, lookup: lookupJSON},
	{name: "Rack request.POST (Puma)", server: "puma", path: "/form", family: familyForm, lookup: lookupNested},
	{name: "Ruby JSON.parse (Puma)", server: "puma", path: "/json", family: familyJSON, lookup: lookupJSON},
	{name: "Rails params[:session] (ParamsWrapper, Puma)", server: "puma", path: "/rails", family: familyJSON, lookup: lookupJSON},
	// Laravel's $request->input() (Illuminate\Http\Request::capture()),
	// under PHP's built-in server and php-fpm behind Caddy.
	{name: "Laravel input() form", server: "laravel", path: "/input", family: familyForm, lookup: lookupDotted, ownFamily: true},
	{name: "Laravel input() JSON", server: "laravel", path: "/input", family: familyJSON, lookup: lookupDotted, ownFamily: true},
	{name: "Laravel input() form (PHP-FPM)", server: "laravelfpm", path: "/input", family: familyForm, lookup: lookupDotted, ownFamily: true},
	{name: "Laravel input() JSON (PHP-FPM)", server: "laravelfpm", path: "/input", family: familyJSON, lookup: lookupDotted, ownFamily: true},
	{name: "Go net/http", family: familyForm, lookup: lookupFirst, local: goForm},
	{name: "Go encoding/json map", family: familyJSON, lookup: lookupJSON, local: goJSONMap},
}

// tv is a value as the harnesses report it: a string (hex), a list, a map
// (hex key, value pairs in order) or any other JSON value.
type tv struct {
	S *string `json:"s"`
	L []*tv   `json:"l"`
	M []pair  `json:"m"`
	J *string `json:"j"`
}

type pair struct {
	Key string
	Val *tv
}

// MarshalJSON writes a pair as the harnesses do (the Go portal of
// framing_test.go answers like them).
func (p pair) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]any{hex.EncodeToString([]byte(p.Key)), p.Val})
}

func (p *pair) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var hk string
	if err := json.Unmarshal(raw[0], &hk); err != nil {
		return err
	}
	k, err := hex.DecodeString(hk)
	if err != nil {
		return err
	}
	p.Key = string(k)
	p.Val = new(tv)
	return json.Unmarshal(raw[1], p.Val)
}

func str(s string) *tv { h := hex.EncodeToString([]byte(s)); return &tv{S: &h} }

func (v *tv) str() (string, bool) {
	if v == nil || v.S == nil {
		return "", false
	}
	b, err := hex.DecodeString(*v.S)
	return string(b), err == nil
}

func (v *tv) get(key string, last bool) *tv {
	var found *tv
	for _, p := range v.M {
		if p.Key == key {
			if !last {
				return p.Val
			}
			found = p.Val
		}
	}
	return found
}

// result is what one parser read from one body.
type result struct {
	Status string `json:"status"`
	Detail string `json:"detail"`
	Post   *tv    `json:"post"`
	Query  *tv    `json:"query"`
}

func of(t *tv) value {
	if t == nil {
		return value{}
	}
	if s, ok := t.str(); ok {
		return value{kind: 1, s: s}
	}
	if t.J != nil {
		if n, ok := number(*t.J); ok {
			return n
		}
	}
	return value{kind: 2}
}

// field reads name from a parser's result the way application code on
// that framework does: the body first, the query string when the body
// does not have the field.
func (rd *reading) field(res result, name string) value {
	v := rd.lookupIn(res.Post, name)
	if v.kind == 0 && rd.family == familyForm {
		v = rd.lookupIn(res.Query, name)
	}
	return v
}

func (rd *reading) lookupIn(root *tv, name string) value {
	if root == nil {
		return value{}
	}
	switch rd.lookup {
	case lookupFirst, lookupLast:
		t := root.get(name, rd.lookup == lookupLast)
		if t != nil && t.L != nil {
			if len(t.L) == 0 {
				return value{}
			}
			if rd.lookup == lookupLast {
				return of(t.L[len(t.L)-1])
			}
			return of(t.L[0])
		}
		return of(t)
	case lookupFlat:
		return of(root.get(name, true))
	case lookupNested:
		t := root
		for _, seg := range bracketPath(name) {
			if t == nil || t.M == nil {
				return value{}
			}
			t = t.get(seg, true)
		}
		return of(t)
	case lookupJSON, lookupDotted:
		segs := strings.Split(name, ".")
		if rd.lookup == lookupDotted && strings.Contains(name, "[") {
			segs = bracketPath(name)
		}
		t := root
		for _, seg := range segs {
			if t == nil || t.M == nil {
				return value{}
			}
			t = t.get(seg, true)
		}
		return of(t)
	}
	return value{}
}

// bracketPath splits "user[email]" into user, email.
func bracketPath(name string) []string {
	base, rest, ok := strings.Cut(name, "[")
	if !ok {
		return []string{name}
	}
	return append([]string{base}, strings.Split(strings.TrimSuffix(rest, "]"), "][")...)
}

// goForm is Go's net/http: ParseMultipartForm or ParseForm, then
// FormValue (the body's first value, else the query's).
func goForm(c Case) result { return goFormRequest(newRequest(c)) }

// goFormRequest is goForm's reading of a request (framing_test.go serves
// it as a portal).
func goFormRequest(r *http.Request) result {
	err := r.ParseMultipartForm(1 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = r.ParseForm()
	}
	if err != nil {
		return result{Status: "error", Detail: err.Error()}
	}
	post := &tv{M: []pair{}}
	for k, vs := range r.Form {
		l := &tv{L: []*tv{}}
		for _, v := range vs {
			l.L = append(l.L, str(v))
		}
		post.M = append(post.M, pair{Key: k, Val: l})
	}
	return result{Status: "ok", Post: post, Query: &tv{M: []pair{}}}
}

// goJSONMap is encoding/json into a map[string]any.
func goJSONMap(c Case) result {
	var v any
	if err := json.Unmarshal(c.Body, &v); err != nil {
		return result{Status: "error", Detail: err.Error()}
	}
	return result{Status: "ok", Post: toTV(v)}
}

func toTV(v any) *tv {
	switch v := v.(type) {
	case string:
		return str(v)
	case map[string]any:
		t := &tv{M: []pair{}}
		for k, x := range v {
			t.M = append(t.M, pair{Key: k, Val: toTV(x)})
		}
		return t
	case []any:
		t := &tv{L: []*tv{}}
		for _, x := range v {
			t.L = append(t.L, toTV(x))
		}
		return t
	}
	j, _ := json.Marshal(v)
	s := string(j)
	return &tv{J: &s}
}

// goJSONStruct is encoding/json into a struct, whose field matching
// ignores case: the behaviour Go, ASP.NET's and Spring's binders document.
func goJSONStruct(c Case) (map[string]value, bool) {
	var s struct {
		Username    any `json:"username"`
		SmartidData any `json:"smartid_data"`
		Amount      any `json:"amount"`
	}
	if err := json.Unmarshal(c.Body, &s); err != nil {
		return nil, false
	}
	conv := func(x any) value {
		switch x := x.(type) {
		case nil:
			return value{}
		case string:
			return value{kind: 1, s: x}
		case float64:
			v, _ := number(strconv.FormatFloat(x, 'g', -1, 64))
			return v
		}
		return value{kind: 2}
	}
	return map[string]value{"username": conv(s.Username), "smartid_data": conv(s.SmartidData), "amount": conv(s.Amount)}, true
}

func familyOf(ct string) family {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(ct)
	}
	if strings.Contains(mt, "json") {
		return familyJSON
	}
	return familyForm
}

// server is one long-lived parser process on a loopback port.
type server struct {
	base    string
	version string
	stderr  *bytes.Buffer
	// guarded and unguarded (host:port): for a server with Caddy in
	// front (php-fpm), the portal's site with the guard the docs
	// recommend, and the same site without it.
	guarded, unguarded string
	// fastcgi is php-fpm's address as php_fastcgi takes it, for a test
	// that puts a Caddy of its own in front of it (framing_test.go).
	fastcgi string
	// procs are the processes that answer at base (servers_test.go).
	procs []*proc
}

func requireParsers(t *testing.T) map[string]*server {
	t.Helper()
	dir, _ := filepath.Abs("testdata")
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("differential test: %s (CI must install every parser)", what)
		}
		t.Skipf("differential test skipped: %s", what)
	}
	python := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import django, werkzeug").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		missing("no python3 with Django and Werkzeug (Debian: python3-django python3-werkzeug)")
	}
	if _, err := exec.LookPath("php"); err != nil {
		missing("php not installed (Debian: php-cli)")
	}
	if exec.Command("ruby", "-e", `require "rack"; require "webrick"; require "action_dispatch"`).Run() != nil {
		missing("ruby with rack, webrick and Rails' router not installed (Debian: ruby-rack ruby-webrick ruby-actionpack)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node", "node_modules", "express")); err != nil {
		missing("node packages not installed (run npm ci in internal/bodydiff/testdata/node)")
	}
	javaClasses := buildJavaReader(t, dir, missing)
	cmds := map[string]func(port string) *exec.Cmd{
		"php": func(port string) *exec.Cmd {
			c := exec.Command("php", "-n", "-d", "display_errors=stderr", "-d", "display_startup_errors=0", "-d", "post_max_size=8M", "-d", "file_uploads=1", "-d", "max_input_vars=10000",
				"-S", "127.0.0.1:"+port, "-t", filepath.Join(dir, "php", "docroot"), filepath.Join(dir, "php", "router.php"))
			c.Env = append(os.Environ(), "PHP_CLI_SERVER_WORKERS=3")
			return c
		},
		"laravel": func(port string) *exec.Cmd {
			// Its own PHP: mbstring, which Laravel needs, and opcache,
			// without which every request compiles Illuminate's classes
			// again (ten times the time); neither changes how PHP reads
			// a request.
			c := exec.Command("php", "-n", "-d", "extension=mbstring", "-d", "zend_extension=opcache", "-d", "opcache.enable_cli=1", "-d", "display_errors=stderr", "-d", "display_startup_errors=0", "-d", "post_max_size=8M",
				"-d", "file_uploads=1", "-d", "max_input_vars=10000",
				"-S", "127.0.0.1:"+port, "-t", filepath.Join(dir, "php", "laravel"), filepath.Join(dir, "php", "laravel", "index.php"))
			c.Env = append(os.Environ(), "PHP_CLI_SERVER_WORKERS=3")
			return c
		},
		"python": func(port string) *exec.Cmd {
			return exec.Command(python, filepath.Join(dir, "python", "server.py"), port)
		},
		"ruby": func(port string) *exec.Cmd {
			return exec.Command("ruby", filepath.Join(dir, "ruby", "server.rb"), port)
		},
		"java": func(port string) *exec.Cmd {
			return exec.Command("java", "-Xss1m", "-cp", javaClasses, "Server", port)
		},
		"node": func(port string) *exec.Cmd {
			c := exec.Command("node", filepath.Join(dir, "node", "server.js"), port)
			c.Dir = filepath.Join(dir, "node")
			return c
		},
	}
	requireProduction(missing)
	for name, mk := range productionCmds(dir) {
		cmds[name] = mk
	}
	servers := launchAll(t, cmds)
	servers["phpfpm"], servers["phpfront"], servers["laravelfpm"] = startPHPFPM(t, dir)
	return servers
}

// javaJars are the Debian packages' jars the Spring Boot reader is built
// and run with: Tomcat's embedded core (with the annotations API it loads
// at start) and Jackson.
var javaJars = []string{
	"/usr/share/java/tomcat10-embed-core.jar",
	"/usr/share/java/jakarta-annotation-api.jar",
	"/usr/share/java/jackson-databind.jar",
	"/usr/share/java/jackson-core.jar",
	"/usr/share/java/jackson-annotations.jar",
}

// buildJavaReader compiles testdata/java/Server.java into a temporary
// directory and returns the class path that runs it.
func buildJavaReader(t *testing.T, dir string, missing func(string)) string {
	t.Helper()
	if _, err := exec.LookPath("javac"); err != nil {
		missing("javac not installed (Debian: openjdk-17-jdk-headless)")
	}
	for _, j := range javaJars {
		if _, err := os.Stat(j); err != nil {
			missing(j + " not installed (Debian: libtomcat10-embed-java libjakarta-annotation-api-java libjackson2-databind-java)")
		}
	}
	out := t.TempDir()
	cp := strings.Join(javaJars, ":")
	if b, err := exec.Command("javac", "-nowarn", "-d", out, "-cp", cp, filepath.Join(dir, "java", "Server.java")).CombinedOutput(); err != nil {
		t.Fatalf("building the Spring Boot reader: %v\n%s", err, b)
	}
	return out + ":" + cp
}

var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
}

func (s *server) read(ctx context.Context, path string, c Case) result {
	res := s.readOnce(ctx, path, c)
	if res.Status == "transport" {
		// A keep-alive connection the server closed as it was reused.
		res = s.readOnce(ctx, path, c)
	}
	return res
}

func (s *server) readOnce(ctx context.Context, path string, c Case) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(c.Body))
	if err != nil {
		return result{Status: "error", Detail: err.Error()}
	}
	req.URL.RawQuery = c.Query
	if c.ContentType != "" {
		req.Header.Set("Content-Type", c.ContentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{Status: "transport", Detail: err.Error()}
	}
	defer resp.Body.Close()
	var res result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return result{Status: "transport", Detail: fmt.Sprintf("status %d, undecodable answer: %v", resp.StatusCode, err)}
	}
	return res
}

// outcome is one body run through the guard and every parser.
type outcome struct {
	c     Case
	guard guardReading
	reads []result
}

// The run stops at the first request that gets no answer (after read's
// one retry), at the first server process that exits, and after
// runBudget, and the test fails saying which server and why.
func runAll(t *testing.T, servers map[string]*server, cases []Case) []outcome {
	out := make([]outcome, len(cases))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var done atomic.Int64
	base, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	budget := runBudget(t)
	ctx, stop := context.WithTimeoutCause(base, budget, fmt.Errorf("the run took longer than %v: a parser server answers slowly or not at all", budget))
	defer stop()
	watch(ctx, cancel, servers)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c := cases[i]
				o := outcome{c: c, guard: guard(c), reads: make([]result, len(readings))}
				for j, rd := range readings {
					if rd.local != nil {
						o.reads[j] = rd.local(c)
						continue
					}
					if rd.ownFamily && rd.family != familyOf(c.ContentType) {
						o.reads[j] = result{Status: "skipped", Detail: "a body of the other family"}
						continue
					}
					s := servers[rd.server]
					o.reads[j] = s.read(ctx, rd.path, c)
					if o.reads[j].Status == "transport" {
						cancel(fmt.Errorf("%s: %s (%s): %s\n%s\n%s", c.Name, rd.name, s.base, o.reads[j].Detail, s.state(), tail(s.stderr)))
						break
					}
				}
				out[i] = o
				done.Add(1)
			}
		}()
	}
feed:
	for i := range cases {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("differential run stopped after %d of %d cases: %v", done.Load(), len(cases), context.Cause(ctx))
	}
	return out
}

// disagreement describes how a parser read a guarded field other than the
// guard did; "" when it agrees. strict is for the body's own family: a
// parser that reads nothing where the guard read a value disagrees there
// (only a parser that refuses the body outright is excused), while a
// parser of the other family may read nothing.
func disagreement(rd *reading, res result, name string, g value, strict bool) string {
	if res.Status != "ok" {
		return ""
	}
	v := rd.field(res, name)
	if v == g || !strict && v.kind == 0 {
		return ""
	}
	return fmt.Sprintf("%s reads %s as %v, the guard as %v", rd.name, name, v, g)
}

func (o *outcome) disagreements() []string {
	spec := Specs()[o.c.Spec]
	fam := familyOf(o.c.ContentType)
	var out []string
	for _, name := range Guarded(spec) {
		g := o.guard.fields[name]
		for j := range readings {
			if d := disagreement(&readings[j], o.reads[j], name, g, readings[j].family == fam); d != "" {
				out = append(out, d)
			}
		}
	}
	if fam == familyJSON && o.c.Spec == "default" {
		if st, ok := goJSONStruct(o.c); ok {
			for name, v := range st {
				if g := o.guard.fields[name]; v != g {
					out = append(out, fmt.Sprintf("Go encoding/json struct (case-insensitive) reads %s as %v, the guard as %v", name, v, g))
				}
			}
		}
	}
	return out
}

// parsersAgree reports whether every parser of the body's family that
// read it (did not refuse it) read the same guarded fields, and at least
// one did.
func (o *outcome) parsersAgree() bool {
	spec := Specs()[o.c.Spec]
	fam := familyOf(o.c.ContentType)
	any := false
	for _, name := range Guarded(spec) {
		var first *value
		for j := range readings {
			rd := &readings[j]
			if rd.family != fam || o.reads[j].Status != "ok" {
				continue
			}
			any = true
			v := rd.field(o.reads[j], name)
			if first == nil {
				first = &v
			} else if v != *first {
				return false
			}
		}
	}
	return any
}

func versions(servers map[string]*server) string {
	var names []string
	for n := range servers {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s; ", n, servers[n].version)
	}
	return b.String()
}

// TestDifferentialPassCorpus: bodies real clients send pass the guard,
// byte for byte, and every parser reads the guarded fields exactly as the
// guard does.
func TestDifferentialPassCorpus(t *testing.T) {
	servers := requireParsers(t)
	t.Logf("parsers: %s", versions(servers))
	cases := PassCases()
	raw, err := os.ReadFile(filepath.Join("testdata", "chromium.json"))
	if err != nil {
		t.Fatalf("Chromium corpus: %v", err)
	}
	var chromium []Case
	if err := json.Unmarshal(raw, &chromium); err != nil {
		t.Fatalf("Chromium corpus: %v", err)
	}
	if len(chromium) < 6 {
		t.Fatalf("Chromium corpus has %d bodies", len(chromium))
	}
	cases = append(cases, chromium...)
	outs := runAll(t, servers, cases)
	// Every reading reads some of them: one that refused every body (its
	// server answering in place of the one meant) would disagree nowhere.
	for j, rd := range readings {
		read := 0
		for _, o := range outs {
			if o.reads[j].Status == "ok" && familyOf(o.c.ContentType) == rd.family {
				read++
			}
		}
		if read == 0 {
			t.Errorf("%s read none of the pass bodies", rd.name)
		}
	}
	for _, o := range outs {
		if o.guard.err != nil {
			t.Errorf("%s: refused: %s (%v)", o.c.Name, o.guard.err.Reason, o.guard.err)
			continue
		}
		if !o.guard.replay {
			t.Errorf("%s: the body passed on is not byte for byte the one sent", o.c.Name)
		}
		if u := o.guard.fields[Guarded(Specs()[o.c.Spec])[0]]; u.kind != 1 || u.s == "" {
			t.Errorf("%s: the guard read no user", o.c.Name)
		}
		// A parser may refuse a body the policy passes (Express's
		// urlencoded parser answers 415 to "charset=utf8" and
		// "us-ascii"): the portal then reads nothing, which is no other
		// reading. Most must read it, though.
		fam := familyOf(o.c.ContentType)
		read, inFamily := 0, 0
		for j, r := range o.reads {
			if readings[j].family != fam {
				continue
			}
			inFamily++
			if r.Status == "ok" {
				read++
			} else {
				t.Logf("%s: %s refuses it (%s)", o.c.Name, readings[j].name, r.Detail)
			}
		}
		if read*2 <= inFamily {
			t.Errorf("%s: only %d of %d parsers read it", o.c.Name, read, inFamily)
		}
		for _, d := range o.disagreements() {
			t.Errorf("%s: %s", o.c.Name, d)
		}
	}
	t.Logf("%d pass bodies (%d from headless Chromium) passed", len(cases), len(chromium))
}

// TestDifferentialMutations: every mutated body is refused, or every
// parser reads exactly what the guard read. It reports the over-refusal:
// the share of refused bodies on which every parser agreed.
func TestDifferentialMutations(t *testing.T) {
	servers := requireParsers(t)
	t.Logf("parsers: %s", versions(servers))
	cases := Mutations(corpusSeed, corpusSize)
	outs := runAll(t, servers, cases)
	var accepted, refused, overRefused, failures int
	reasons, overReasons := map[string]int{}, map[string]int{}
	for _, o := range outs {
		if o.guard.err != nil {
			refused++
			reasons[o.guard.err.Reason]++
			if o.guard.err.Status < 400 || o.guard.err.Status > 499 || strings.Contains(o.guard.err.Error(), "mallory") {
				t.Errorf("%s: bad refusal %d %q", o.c.Name, o.guard.err.Status, o.guard.err.Error())
			}
			if o.parsersAgree() {
				overRefused++
				overReasons[o.guard.err.Reason]++
			}
			continue
		}
		accepted++
		if !o.guard.replay {
			t.Errorf("%s: the body passed on is not byte for byte the one sent", o.c.Name)
		}
		for _, d := range o.disagreements() {
			if failures++; failures <= 40 {
				t.Errorf("%s: %s\n\tContent-Type %q, query %q, body %q", o.c.Name, d, o.c.ContentType, o.c.Query, o.c.Body)
			}
		}
	}
	if failures > 40 {
		t.Errorf("... %d disagreements in all", failures)
	}
	if len(cases) < 3000 {
		t.Errorf("corpus has %d bodies, want at least 3000", len(cases))
	}
	if accepted < len(cases)/10 {
		t.Errorf("only %d of %d mutated bodies accepted: the corpus tests little beyond refusals", accepted, len(cases))
	}
	list := func(m map[string]int) string {
		var rs []string
		for r, n := range m {
			rs = append(rs, fmt.Sprintf("%s %d", r, n))
		}
		sort.Strings(rs)
		return strings.Join(rs, ", ")
	}
	t.Logf("%d mutated bodies: %d accepted, %d refused (%s)", len(cases), accepted, refused, list(reasons))
	t.Logf("over-refusal: %d of %d refused bodies (%.1f%%; %.1f%% of the corpus) were read alike by every parser (%s)",
		overRefused, refused, 100*float64(overRefused)/float64(max(refused, 1)), 100*float64(overRefused)/float64(len(cases)), list(overReasons))
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(b *bytes.Buffer) string {
	s := b.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
