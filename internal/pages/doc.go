// Package pages renders what the guard says to a person: the deny, rate
// limit and step-up refusal pages, the step-up and enrolment pages, and
// the same answers as JSON for scripts. It knows nothing of Caddy.
//
// A Set is built once, when a config is provisioned: the templates are
// parsed (the embedded theme, or an operator's files from a directory),
// every answer is rendered once with sample data so a broken template
// fails the config rather than a user, and the answers that never change
// (deny, the step-up refusals) are rendered for good. Writing a deny is
// then a header map and one Write of bytes made at provision; a rate
// limit page is cached per "try again in" wording.
//
// No page names a rule or an engine: an answer is chosen by its Code, and
// a lockout is the same Denied answer, byte for byte, as any other deny.
package pages
