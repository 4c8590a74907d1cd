package pages

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// WantsJSON says whether the client is a script that reads JSON rather
// than a browser: it accepts application/json, or it sent a JSON body
// (application/json or any +json type). It allocates nothing: it runs on
// every deny.
func WantsJSON(r *http.Request) bool {
	for _, a := range r.Header["Accept"] {
		if strings.Contains(a, "application/json") {
			return true
		}
	}
	var ct string
	if v := r.Header["Content-Type"]; len(v) > 0 {
		ct = v[0] // the canonical key read directly: no canonicalisation per deny
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/json") || (len(ct) > 5 && strings.EqualFold(ct[len(ct)-5:], "+json") && strings.Contains(ct, "/"))
}

// Write answers r with a: the page for a browser, the JSON error for a
// script, with Retry-After for a rate limit. A HEAD request gets the
// headers alone.
func (s *Set) Write(w http.ResponseWriter, r *http.Request, a Answer) error {
	return s.write(w, r.Method == http.MethodHead, a, WantsJSON(r))
}

// WriteJSON answers a script with a's JSON error, whatever it accepts:
// the step-up page's own endpoints speak JSON only.
func (s *Set) WriteJSON(w http.ResponseWriter, a Answer) error {
	return s.write(w, false, a, true)
}

func (s *Set) write(w http.ResponseWriter, head bool, a Answer, asJSON bool) error {
	status, b, err := s.body(a, asJSON)
	if err != nil {
		return err
	}
	hdr := w.Header()
	vals := newAnswerValues()
	vals.setCommon(hdr)
	if a.Code == RateLimited && a.RetryAfter > 0 {
		hdr["Retry-After"] = vals.of(RetryAfter(a.RetryAfter).Text)
	}
	if asJSON {
		hdr["Content-Type"] = vals.of(typeJSON)
	} else {
		hdr["Content-Type"] = vals.of(typeHTML)
		hdr["Content-Security-Policy"] = vals.of(s.noticeCSP)
	}
	hdr["Content-Length"] = vals.of(b.length)
	w.WriteHeader(status)
	if head {
		return nil
	}
	_, err = w.Write(b.bytes)
	return err
}

// WriteStepUp writes the step-up or enrolment page.
func (s *Set) WriteStepUp(w http.ResponseWriter, r *http.Request, st StepUp) error {
	body, err := s.RenderStepUp(st)
	if err != nil {
		return err
	}
	hdr := w.Header()
	vals := newAnswerValues()
	vals.setCommon(hdr)
	hdr["Content-Type"] = vals.of(typeHTML)
	hdr.Set("Content-Security-Policy", s.stepUpCSP(st.FormAction))
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(body)
	return err
}

// stepUpCSP is the step-up page's policy, its form-action also allowing
// origin when one is given (StepUp.FormAction). An origin with anything
// but the characters of a scheme, host and port is left out: it could
// end the source list.
func (s *Set) stepUpCSP(origin string) string {
	if origin == "" {
		return s.stepCSP
	}
	for i := 0; i < len(origin); i++ {
		switch c := origin[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == ':', c == '/', c == '[', c == ']':
		default:
			return s.stepCSP
		}
	}
	return strings.Replace(s.stepCSP, "form-action 'self'", "form-action 'self' "+origin, 1)
}

// body returns the status and the body of a, HTML or JSON: made at
// provision for the fixed answers, cached per wording for a rate-limit
// page, built for the rest (a rate limit's JSON, the enrolment
// confirmation).
func (s *Set) body(a Answer, asJSON bool) (int, prepared, error) {
	// A rate limit's page already made: the one answer a flood gets over
	// and over, found without looking its code up.
	if !asJSON {
		if slot := s.retrySlot(a); slot != nil {
			if p := slot.Load(); p != nil {
				return http.StatusTooManyRequests, *p, nil
			}
		}
	}
	status := a.Status
	if status == 0 {
		status = a.Code.Status()
	}
	if r, ok := s.static[a.Code]; ok && a.Next == "" {
		if asJSON {
			return status, r.json, nil
		}
		return status, r.html, nil
	}
	if a.Code != RateLimited {
		a.RetryAfter = 0
	}
	if _, known := catalogue[a.Code]; !known {
		a = Answer{Code: Internal}
		status = a.Code.Status()
	}
	if asJSON {
		if a.Code == RateLimited {
			return status, prepare(s.rateJSON(a.RetryAfter)), nil
		}
		d := s.data(a)
		return status, prepare(jsonBody(d.Code, d.Message)), nil
	}
	slot := s.retrySlot(a)
	if slot != nil {
		if p := slot.Load(); p != nil {
			return status, *p, nil
		}
	}
	html, err := s.renderNotice(s.data(a))
	if err != nil {
		return 0, prepared{}, err
	}
	p := prepare(html)
	if slot != nil {
		slot.Store(&p)
	}
	return status, p, nil
}

// prepared is a body with its Content-Length header value.
type prepared struct {
	bytes  []byte
	length string
}

func prepare(b []byte) prepared {
	return prepared{bytes: b, length: strconv.Itoa(len(b))}
}

// retrySlots hold rate-limit pages by wording: seconds up to 59, minutes
// up to 60, hours up to 127 (RetryIn's units), each rendered on first use.
type retrySlots [3][128]atomic.Pointer[prepared]

// retrySlot finds a rate-limit page's cache slot without building the
// wording; nil when the answer is not cacheable.
func (s *Set) retrySlot(a Answer) *atomic.Pointer[prepared] {
	if a.Code != RateLimited || a.Next != "" || a.Status != 0 {
		return nil
	}
	unit, n := retryUnit(a.RetryAfter)
	if n >= 128 {
		return nil
	}
	return &s.retry[unit][n]
}

// rateJSON is the rate limit's JSON: the fixed part made at provision,
// the seconds appended.
func (s *Set) rateJSON(retry time.Duration) []byte {
	b := make([]byte, 0, len(s.ratePrefix)+24)
	b = append(b, s.ratePrefix...)
	if retry > 0 {
		b = append(b, `,"retry_after":`...)
		b = strconv.AppendInt(b, RetryAfterSeconds(retry), 10)
	}
	return append(b, "}\n"...)
}

// jsonBody is {"error": code, "message": …}.
func jsonBody(c Code, msg string) []byte {
	b, _ := json.Marshal(struct {
		Error   Code   `json:"error"`
		Message string `json:"message"`
	}{c, msg})
	return append(b, '\n')
}

// Content-Type values of the answers.
const (
	typeHTML = "text/html; charset=utf-8"
	typeJSON = "application/json"
)

// answerValues hands out an answer's header values, each a slice of
// length and capacity 1 (an Add copies rather than writes into it), all
// cut from one array made for this answer: one allocation for every
// header. No two answers share a value slice: Caddy's `header` directive,
// deferred, replaces a response header's values in place, and an edit to
// a slice shared by every answer would reach every other route's answers
// (and race with them).
type answerValues struct{ buf []string }

// maxAnswerValues is the most values an answer sets: the four common
// headers, Content-Type, Content-Security-Policy, Content-Length and
// Retry-After.
const maxAnswerValues = 8

func newAnswerValues() answerValues {
	return answerValues{buf: make([]string, 0, maxAnswerValues)}
}

// of is s as a header value of its own.
func (v *answerValues) of(s string) []string {
	v.buf = append(v.buf, s)
	n := len(v.buf)
	return v.buf[n-1 : n : n]
}

// setCommon: no caching (an answer is about this request), no referrer
// (a step-up URL must not leak), no framing, no sniffing.
func (v *answerValues) setCommon(h http.Header) {
	h["Cache-Control"] = v.of("no-store")
	h["Referrer-Policy"] = v.of("no-referrer")
	h["X-Content-Type-Options"] = v.of("nosniff")
	h["X-Frame-Options"] = v.of("DENY")
}
