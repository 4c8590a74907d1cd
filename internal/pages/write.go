package pages

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WantsJSON says whether the client is a script that reads JSON rather
// than a browser: it accepts application/json, or it sent a JSON body.
func WantsJSON(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "application/json") {
			return true
		}
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// Write answers r with a: the page for a browser, the JSON error for a
// script, with Retry-After for a rate limit. A HEAD request gets the
// headers alone.
func (s *Set) Write(w http.ResponseWriter, r *http.Request, a Answer) error {
	status, html, js, err := s.bodies(a)
	if err != nil {
		return err
	}
	hdr := w.Header()
	setCommonHeaders(hdr)
	if a.Code == RateLimited && a.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(a.RetryAfter), 10))
	}
	body := html
	if WantsJSON(r) {
		body = js
		hdr.Set("Content-Type", "application/json")
	} else {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", s.noticeCSP)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(body)
	return err
}

// WriteJSON answers a script with a's JSON error, whatever it accepts:
// the step-up page's own endpoints speak JSON only.
func (s *Set) WriteJSON(w http.ResponseWriter, a Answer) error {
	status, _, js, err := s.bodies(a)
	if err != nil {
		return err
	}
	hdr := w.Header()
	setCommonHeaders(hdr)
	if a.Code == RateLimited && a.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(a.RetryAfter), 10))
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(js)))
	w.WriteHeader(status)
	_, err = w.Write(js)
	return err
}

// WriteStepUp writes the step-up or enrolment page.
func (s *Set) WriteStepUp(w http.ResponseWriter, r *http.Request, st StepUp) error {
	body, err := s.RenderStepUp(st)
	if err != nil {
		return err
	}
	hdr := w.Header()
	setCommonHeaders(hdr)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", s.stepCSP)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(body)
	return err
}

// Message is the code's message, for JSON answers built elsewhere.
func (s *Set) Message(c Code) string { return s.data(Answer{Code: c}).Message }

// bodies returns the status and the two bodies of a: made at provision
// for the fixed answers, cached per wording for a rate limit, rendered
// for the rest.
func (s *Set) bodies(a Answer) (status int, html, js []byte, err error) {
	if r, ok := s.static[a.Code]; ok && a.Next == "" {
		status = a.Code.Status()
		if a.Status != 0 {
			status = a.Status
		}
		return status, r.html, r.json, nil
	}
	if a.Code != RateLimited {
		a.RetryAfter = 0
	}
	d := s.data(a)
	if d.Status == 0 {
		d = s.data(Answer{Code: Internal})
	}
	js = jsonBody(d.Code, d.Message, a.RetryAfter)
	if a.Code == RateLimited && a.Next == "" {
		if v, ok := s.retry.Load(d.RetryIn); ok {
			return d.Status, v.([]byte), js, nil
		}
	}
	html, err = s.renderNotice(d)
	if err != nil {
		return 0, nil, nil, err
	}
	if a.Code == RateLimited && a.Next == "" && s.nRetry.Load() < maxRetryCache {
		if _, loaded := s.retry.LoadOrStore(d.RetryIn, html); !loaded {
			s.nRetry.Add(1)
		}
	}
	return d.Status, html, js, nil
}

// jsonBody is {"error": code, "message": …, "retry_after": seconds}.
// The fixed part is marshalled once per code; the number is appended.
func jsonBody(c Code, msg string, retry time.Duration) []byte {
	b, _ := json.Marshal(struct {
		Error   Code   `json:"error"`
		Message string `json:"message"`
	}{c, msg})
	if retry <= 0 {
		return append(b, '\n')
	}
	b = append(b[:len(b)-1], `,"retry_after":`...)
	b = strconv.AppendInt(b, RetryAfterSeconds(retry), 10)
	return append(b, "}\n"...)
}

// setCommonHeaders: no caching (an answer is about this request), no
// referrer (a step-up URL must not leak), no framing, no sniffing.
func setCommonHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}
