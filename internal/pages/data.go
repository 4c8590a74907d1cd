package pages

import (
	"html/template"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Step-up page modes.
const (
	ModeLogin  = "login"  // confirm a sign-in with a factor
	ModeEnroll = "enroll" // register a passkey
)

// Answer is what to tell a person: a Code and, for some codes, a detail.
type Answer struct {
	Code Code
	// Status overrides the code's default status (a route's configured
	// unsupported_media_status, say).
	Status int
	// RetryAfter is when a rate-limited client may try again.
	RetryAfter time.Duration
	// Next is where the answer's main link leads when it is not the
	// sign-in page (after enrolment: the route's enrol_done).
	Next string
}

// Data is what the templates receive. An operator's templates may use:
//
//	.Lang        the <html lang> value
//	.Portal      .Name, .Logo (an image URL) and .Home (the sign-in URL)
//	.Code        the answer's code ("denied", "rate_limited", …); empty on
//	             the step-up page
//	.Status      the HTTP status
//	.Title       the heading (and <title>)
//	.Message     what happened and what to do, in a sentence or three
//	.RetryIn     rate_limited: when to try again ("2 minutes")
//	.Next        the main link: .URL and .Text (empty .URL: none)
//	.Help        the operator's help link: .URL and .Text (may be empty)
//	.CSS         style.css, for the <style> element the CSP allows
//	.StepUp      on the step-up page: .Mode ("login" or "enroll"), .Base,
//	             .ScriptURL, .Done, .User, .Methods; .Offers "passkey"
//	             tests a method and .MethodList gives data-methods
type Data struct {
	Lang    string
	Portal  Portal
	Code    Code
	Status  int
	Title   string
	Message string
	RetryIn string
	Next    Link
	Help    Link
	CSS     template.CSS
	StepUp  StepUp
}

// Portal is the operator's branding.
type Portal struct{ Name, Logo, Home string }

// Link is a link a page offers.
type Link struct{ URL, Text string }

// StepUp is the step-up page's part of Data. The script (served at
// .ScriptURL) finds #login-guard-step-up with its data- attributes,
// #login-guard-start, #login-guard-selfie-start, #login-guard-video,
// #login-guard-loginid, #login-guard-status and the completion form
// #login-guard-complete posting to .Base+"/complete".
type StepUp struct {
	Mode      string
	Base      string
	ScriptURL string
	Done      string
	User      string
	Methods   []string
	// Operation: the page confirms an operation, not a sign-in.
	Operation bool
	// FormAction is the origin ("https://host[:port]") the completion
	// form's redirect goes to when it is not this page's (the login's
	// host, for a step-up on its own host): browsers check a form's
	// redirects against the page's form-action, which then allows it too.
	FormAction string
}

// Offers reports whether the page offers method; no Methods means the
// passkey alone.
func (s StepUp) Offers(method string) bool {
	if len(s.Methods) == 0 {
		return method == "passkey"
	}
	for _, m := range s.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// MethodList is Methods as the space-separated data-methods value.
func (s StepUp) MethodList() string {
	if len(s.Methods) == 0 {
		return "passkey"
	}
	return strings.Join(s.Methods, " ")
}

// data fills the template data of an answer.
func (s *Set) data(a Answer) Data {
	o := s.opts
	d := Data{
		Lang:   o.Lang,
		Portal: Portal{Name: o.PortalName, Logo: o.Logo, Home: o.SignInURL},
		Code:   a.Code,
		CSS:    s.css,
	}
	if o.HelpURL != "" {
		d.Help = Link{URL: o.HelpURL, Text: o.HelpText}
	}
	e, ok := catalogue[a.Code]
	if !ok {
		return d
	}
	d.Status, d.Title, d.Message = e.status, e.title, e.msg
	if a.Status != 0 {
		d.Status = a.Status
	}
	if o.HelpURL != "" && e.helpMsg != "" {
		d.Message = e.helpMsg
	}
	switch e.next {
	case nextSignIn:
		d.Next = Link{URL: o.SignInURL, Text: "Back to sign-in"}
	case nextHelp:
		if o.HelpURL != "" {
			d.Next = Link{URL: o.HelpURL, Text: o.HelpText}
			d.Help = Link{}
		} else {
			d.Next = Link{URL: o.SignInURL, Text: "Back to sign-in"}
		}
	case nextPortal:
		d.Next = Link{URL: o.SignInURL, Text: "Continue"}
		if a.Next != "" {
			d.Next.URL = a.Next
		}
	}
	if a.RetryAfter > 0 {
		d.RetryIn = RetryIn(a.RetryAfter)
	}
	return d
}

// RetryIn words a wait for a person: "30 seconds", "2 minutes",
// "1 hour", rounded up so nobody comes back too early.
func RetryIn(d time.Duration) string {
	unit, n := retryUnit(d)
	name := [...]string{"second", "minute", "hour"}[unit]
	if n == 1 {
		return "1 " + name
	}
	return strconv.FormatInt(n, 10) + " " + name + "s"
}

// retryUnit is the unit (0 seconds, 1 minutes, 2 hours) and the count
// RetryIn words d with: seconds under a minute, minutes up to an hour,
// then hours.
func retryUnit(d time.Duration) (unit int, n int64) {
	switch {
	case d > time.Hour:
		unit, n = 2, int64((d+time.Hour-1)/time.Hour)
	case d >= time.Minute:
		unit, n = 1, int64((d+time.Minute-1)/time.Minute)
	default:
		n = int64((d + time.Second - 1) / time.Second)
	}
	return unit, max(n, 1)
}

// RetryAfterSeconds is the Retry-After header value, rounded up.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// RetryAfterValue is a Retry-After value as a refusal sends it.
type RetryAfterValue struct {
	// Text is the header's value: whole seconds, rounded up.
	Text string
	// Boxed is Text as an any, for a placeholder: Caddy's replacer holds
	// `any`, and turning a string into one allocates.
	Boxed any
}

// maxSharedRetry bounds the Retry-After values made once and shared: an
// hour and a bit of seconds covers the usual windows, for 32 KB of
// pointers; longer waits are formatted per answer.
const maxSharedRetry = 4096

var sharedRetry [maxSharedRetry]atomic.Pointer[RetryAfterValue]

// RetryAfter is d's Retry-After value. A wait under maxSharedRetry
// seconds is made on first use and shared from then on (it is never
// modified): refusals in a flood ask for the same values over and over.
func RetryAfter(d time.Duration) *RetryAfterValue {
	secs := RetryAfterSeconds(d)
	if secs >= maxSharedRetry {
		return newRetryAfterValue(secs)
	}
	slot := &sharedRetry[secs]
	if v := slot.Load(); v != nil {
		return v
	}
	v := newRetryAfterValue(secs)
	if !slot.CompareAndSwap(nil, v) {
		return slot.Load()
	}
	return v
}

func newRetryAfterValue(secs int64) *RetryAfterValue {
	text := strconv.FormatInt(secs, 10)
	return &RetryAfterValue{Text: text, Boxed: text}
}
