package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"strings"
	"sync"
)

//go:embed theme/layout.html theme/notice.html theme/stepup.html theme/style.css
var theme embed.FS

// Files are the template set's file names, which an operator's directory
// may replace one by one.
var Files = []string{"layout.html", "notice.html", "stepup.html", "style.css"}

// Set is a provisioned template set with the answers rendered ahead.
type Set struct {
	opts      Options
	notice    *template.Template
	stepup    *template.Template
	css       template.CSS
	noticeCSP string
	stepCSP   string

	// static holds the answers that never change, rendered at provision.
	static map[Code]rendered
	// retry caches rate-limit pages by their "try again in" wording.
	retry retrySlots
	// ratePrefix is the rate limit's JSON up to its retry_after.
	ratePrefix []byte
}

type rendered struct {
	html prepared
	json prepared
}

// New parses the templates and renders every answer once.
func New(o Options) (*Set, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	src := map[string]string{}
	for _, name := range Files {
		b, err := theme.ReadFile("theme/" + name)
		if err != nil {
			return nil, err // embedded at build time
		}
		src[name] = string(b)
	}
	if o.Dir != "" {
		if err := readDir(o.Dir, src); err != nil {
			return nil, err
		}
	}
	s := &Set{opts: o, css: template.CSS(src["style.css"]), static: map[Code]rendered{}}
	if strings.Contains(src["style.css"], "</") {
		return nil, errors.New("pages: style.css must not contain \"</\"")
	}
	base, err := template.New("layout.html").Parse(src["layout.html"])
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	if s.notice, err = parseOn(base, "notice.html", src["notice.html"]); err != nil {
		return nil, err
	}
	if s.stepup, err = parseOn(base, "stepup.html", src["stepup.html"]); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(src["style.css"]))
	style := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	common := "default-src 'none'; " + style + "; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	s.noticeCSP = common
	s.stepCSP = common + "; script-src 'self'; connect-src 'self'"

	// Render every answer now: a broken template fails the config, and
	// the answers that never change are kept.
	for _, c := range Codes() {
		d := s.data(Answer{Code: c})
		if c == RateLimited {
			d.RetryIn = "1 minute"
		}
		html, err := s.renderNotice(d)
		if err != nil {
			return nil, err
		}
		if c != RateLimited && c != Enrolled && c != EnrolledLoginID {
			s.static[c] = rendered{html: prepare(html), json: prepare(jsonBody(c, d.Message))}
		}
		if c == RateLimited {
			js := jsonBody(c, d.Message)
			s.ratePrefix = js[:len(js)-2] // without "}\n"
		}
	}
	for _, mode := range []string{ModeLogin, ModeEnroll} {
		if _, err := s.RenderStepUp(StepUp{Mode: mode, Base: "/verify", Done: "/", Methods: []string{"passkey", "selfie", "loginid"}, User: "user"}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Default is the built-in theme with no portal name or logo.
var Default = sync.OnceValue(func() *Set {
	s, err := New(Options{})
	if err != nil {
		panic(err) // the embedded theme is tested
	}
	return s
})

func parseOn(base *template.Template, name, src string) (*template.Template, error) {
	t, err := base.Clone()
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	if _, err := t.New(name).Parse(src); err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	return t, nil
}

// readDir replaces the built-in files with the operator's. A file the set
// does not know is refused, so a misspelt name is not silently ignored.
func readDir(dir string, src map[string]string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pages: dir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if _, known := src[name]; !known {
			return fmt.Errorf("pages: dir %s: unknown file %q (want %s)", dir, name, strings.Join(Files, ", "))
		}
		b, err := fs.ReadFile(os.DirFS(dir), name)
		if err != nil {
			return fmt.Errorf("pages: dir: %w", err)
		}
		src[name] = string(b)
	}
	return nil
}

func (s *Set) renderNotice(d Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.notice.ExecuteTemplate(&buf, "layout", d); err != nil {
		return nil, fmt.Errorf("pages: %s: %w", d.Code, err)
	}
	return buf.Bytes(), nil
}

// RenderStepUp renders the step-up or enrolment page. Base, ScriptURL
// and Done must be paths on this site.
func (s *Set) RenderStepUp(st StepUp) ([]byte, error) {
	if st.Mode != ModeLogin && st.Mode != ModeEnroll {
		return nil, fmt.Errorf("pages: unknown step-up mode %q", st.Mode)
	}
	if st.ScriptURL == "" {
		st.ScriptURL = st.Base + "/stepup.js"
	}
	for _, u := range []string{st.Base + "/", st.ScriptURL} {
		if err := sitePath(u); err != nil {
			return nil, fmt.Errorf("pages: step-up URL: %v", err)
		}
	}
	if st.Done != "" {
		if err := sitePath(st.Done); err != nil {
			return nil, fmt.Errorf("pages: step-up done URL: %v", err)
		}
	}
	d := s.data(Answer{})
	d.Title = "Confirm it's you"
	if st.Mode == ModeEnroll {
		d.Title = "Register a passkey"
	}
	d.StepUp = st
	var buf bytes.Buffer
	if err := s.stepup.ExecuteTemplate(&buf, "layout", d); err != nil {
		return nil, fmt.Errorf("pages: step-up: %w", err)
	}
	return buf.Bytes(), nil
}
