package stepup

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/login-guard/login_guard/internal/pages"
)

// The script is exercised in node (when installed) against options made
// by go-webauthn itself, and what it posts is parsed back with go-webauthn:
// the base64url handling in both directions is what this proves.

type scriptUser struct{ creds []webauthn.Credential }

func (scriptUser) WebAuthnID() []byte                           { return []byte("0123456789abcdef0123456789abcdef") }
func (scriptUser) WebAuthnName() string                         { return "alice" }
func (scriptUser) WebAuthnDisplayName() string                  { return "alice" }
func (u scriptUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

type scriptRun struct {
	Requests []struct {
		URL         string            `json:"url"`
		Method      string            `json:"method"`
		Headers     map[string]string `json:"headers"`
		Credentials string            `json:"credentials"`
		Body        string            `json:"body"`
	} `json:"requests"`
	Navigator struct {
		Challenge string   `json:"challenge"`
		Allow     []string `json:"allow"`
		Exclude   []string `json:"exclude"`
		UserID    string   `json:"userId"`
		RPID      string   `json:"rpId"`
	} `json:"navigator"`
	Prompts   []string `json:"prompts"`
	Submitted bool     `json:"submitted"`
	Status    string   `json:"status"`
	Assigned  string   `json:"assigned"`
	HookUser  string   `json:"hookUser"`
}

func runScript(t *testing.T, scenario map[string]any) scriptRun {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	in, err := json.Marshal(scenario)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "testdata/harness.js", "assets/stepup.js")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var run scriptRun
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("harness output %q: %v", out, err)
	}
	return run
}

func newRP(t *testing.T) *webauthn.WebAuthn {
	t.Helper()
	wa, err := webauthn.New(&webauthn.Config{RPID: "portal.example.com", RPDisplayName: "Portal", RPOrigins: []string{"https://portal.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return wa
}

var enc = base64.RawURLEncoding

func TestScriptAssertion(t *testing.T) {
	wa := newRP(t)
	credID := []byte{0xfb, 0xff, 0x3e, 0x01, 0x02} // bytes whose base64 has + and /
	opts, _, err := wa.BeginLogin(scriptUser{creds: []webauthn.Credential{{ID: credID}}})
	if err != nil {
		t.Fatal(err)
	}
	authData := append(bytes.Repeat([]byte{0xfe}, 32), 0x05, 0, 0, 0, 7)
	clientData := []byte(`{"type":"webauthn.get","challenge":"` + opts.Response.Challenge.String() + `","origin":"https://portal.example.com"}`)
	run := runScript(t, map[string]any{
		"mode": "login", "base": "/lg/step_up",
		"replies": map[string]any{"/passkey/begin": opts, "/passkey/finish": map[string]any{"ok": true}},
		"credential": map[string]any{
			"rawId": enc.EncodeToString(credID), "clientDataJSON": enc.EncodeToString(clientData),
			"authenticatorData": enc.EncodeToString(authData), "signature": enc.EncodeToString([]byte{0x30, 0xff, 0xfe}),
			"userHandle": enc.EncodeToString(scriptUser{}.WebAuthnID()),
		},
	})
	if !run.Submitted {
		t.Fatalf("completion form not submitted; status %q", run.Status)
	}
	if run.Navigator.Challenge != opts.Response.Challenge.String() || len(run.Navigator.Allow) != 1 || run.Navigator.Allow[0] != enc.EncodeToString(credID) || run.Navigator.RPID != "portal.example.com" {
		t.Fatalf("navigator got %+v", run.Navigator)
	}
	if len(run.Requests) != 2 || run.Requests[0].URL != "/lg/step_up/passkey/begin" || run.Requests[1].URL != "/lg/step_up/passkey/finish" {
		t.Fatalf("requests %+v", run.Requests)
	}
	for _, r := range run.Requests {
		if r.Method != "POST" || r.Headers["X-Login-Guard"] != "1" || r.Headers["Content-Type"] != "application/json" || r.Credentials != "same-origin" {
			t.Fatalf("request %+v", r)
		}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(run.Requests[1].Body))
	if err != nil {
		t.Fatalf("go-webauthn cannot parse what the script posted: %v\n%s", err, run.Requests[1].Body)
	}
	if !bytes.Equal(parsed.RawID, credID) || parsed.Response.AuthenticatorData.Counter != 7 ||
		!bytes.Equal(parsed.Response.UserHandle, scriptUser{}.WebAuthnID()) || !bytes.Equal(parsed.Response.Signature, []byte{0x30, 0xff, 0xfe}) ||
		parsed.Response.CollectedClientData.Challenge != opts.Response.Challenge.String() {
		t.Fatalf("parsed %+v", parsed)
	}
}

func TestScriptRegistration(t *testing.T) {
	wa := newRP(t)
	existing := []byte{0xff, 0xee, 0xdd}
	opts, _, err := wa.BeginRegistration(scriptUser{creds: []webauthn.Credential{{ID: existing}}},
		webauthn.WithExclusions([]protocol.CredentialDescriptor{{Type: protocol.PublicKeyCredentialType, CredentialID: existing}}))
	if err != nil {
		t.Fatal(err)
	}
	newID := []byte{0xfa, 0xfb, 0xfc, 0xfd}
	attObj := []byte{0xa3, 0x63, 'f', 'm', 't'}
	run := runScript(t, map[string]any{
		"mode": "enroll", "base": "/lg", "done": "/account",
		"replies": map[string]any{"/passkey/register/begin": opts, "/passkey/register/finish": map[string]any{"ok": true}},
		"credential": map[string]any{
			"rawId": enc.EncodeToString(newID), "clientDataJSON": enc.EncodeToString([]byte(`{"type":"webauthn.create"}`)),
			"attestationObject": enc.EncodeToString(attObj), "transports": []string{"internal", "hybrid"},
		},
	})
	if run.Assigned != "/account" || run.Submitted {
		t.Fatalf("after registration: %+v", run)
	}
	if run.Navigator.UserID != enc.EncodeToString(scriptUser{}.WebAuthnID()) || run.Navigator.Challenge != opts.Response.Challenge.String() ||
		len(run.Navigator.Exclude) != 1 || run.Navigator.Exclude[0] != enc.EncodeToString(existing) {
		t.Fatalf("navigator got %+v", run.Navigator)
	}
	if len(run.Requests) != 2 || run.Requests[1].URL != "/lg/passkey/register/finish" {
		t.Fatalf("requests %+v", run.Requests)
	}
	var posted protocol.CredentialCreationResponse
	if err := json.Unmarshal([]byte(run.Requests[1].Body), &posted); err != nil {
		t.Fatal(err)
	}
	if posted.ID != enc.EncodeToString(newID) || !bytes.Equal(posted.RawID, newID) || posted.Type != "public-key" ||
		!bytes.Equal(posted.AttestationResponse.AttestationObject, attObj) || len(posted.AttestationResponse.Transports) != 2 {
		t.Fatalf("posted %+v", posted)
	}
}

func TestScriptReportsRefusal(t *testing.T) {
	wa := newRP(t)
	opts, _, err := wa.BeginLogin(scriptUser{creds: []webauthn.Credential{{ID: []byte{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	run := runScript(t, map[string]any{
		"mode": "login", "base": "/lg",
		"replies": map[string]any{"/passkey/begin": opts}, // finish answers 404
		"credential": map[string]any{
			"rawId": "AQ", "clientDataJSON": "e30", "authenticatorData": enc.EncodeToString(make([]byte, 37)),
			"signature": "AA", "userHandle": "AA",
		},
	})
	if run.Submitted || run.Status != "That did not work. You can try again." {
		t.Fatalf("refusal handling: %+v", run)
	}

	// A refusal with the guard's JSON body: the person reads its message.
	const msg = "The confirmation didn't succeed, so the sign-in was not completed. Please sign in again and retry."
	run = runScript(t, map[string]any{
		"mode": "login", "base": "/lg",
		"replies":  map[string]any{"/passkey/begin": opts},
		"refusals": map[string]any{"/passkey/finish": map[string]any{"status": 403, "body": map[string]string{"error": "step_up_failed", "message": msg}}},
		"credential": map[string]any{
			"rawId": "AQ", "clientDataJSON": "e30", "authenticatorData": enc.EncodeToString(make([]byte, 37)),
			"signature": "AA", "userHandle": "AA",
		},
	})
	if run.Submitted || run.Status != msg {
		t.Fatalf("the guard's message was not shown: %+v", run)
	}
}

// TestScriptEnrolConfirm: an account that has a passkey is answered
// enrol_confirm at the registration's begin; the script confirms with an
// existing passkey (an assertion at /passkey/confirm/), then registers.
func TestScriptEnrolConfirm(t *testing.T) {
	wa := newRP(t)
	existing := []byte{0xff, 0xee, 0xdd}
	user := scriptUser{creds: []webauthn.Credential{{ID: existing}}}
	assertOpts, _, err := wa.BeginLogin(user)
	if err != nil {
		t.Fatal(err)
	}
	regOpts, _, err := wa.BeginRegistration(user)
	if err != nil {
		t.Fatal(err)
	}
	authData := append(bytes.Repeat([]byte{0xfe}, 32), 0x05, 0, 0, 0, 9)
	clientData := []byte(`{"type":"webauthn.get","challenge":"` + assertOpts.Response.Challenge.String() + `","origin":"https://portal.example.com"}`)
	newID := []byte{0xfa, 0xfb}
	run := runScript(t, map[string]any{
		"mode": "enroll", "base": "/lg", "done": "/account",
		"refusals": map[string]any{"/passkey/register/begin": map[string]any{"once": true, "status": 403,
			"body": map[string]string{"error": "enrol_confirm", "message": "confirm first"}}},
		"replies": map[string]any{
			"/passkey/confirm/begin": assertOpts, "/passkey/confirm/finish": map[string]any{"ok": true},
			"/passkey/register/begin": regOpts, "/passkey/register/finish": map[string]any{"ok": true},
		},
		"assertion": map[string]any{
			"rawId": enc.EncodeToString(existing), "clientDataJSON": enc.EncodeToString(clientData),
			"authenticatorData": enc.EncodeToString(authData), "signature": enc.EncodeToString([]byte{0x30, 0x01}),
			"userHandle": enc.EncodeToString(user.WebAuthnID()),
		},
		"credential": map[string]any{
			"rawId": enc.EncodeToString(newID), "clientDataJSON": enc.EncodeToString([]byte(`{"type":"webauthn.create"}`)),
			"attestationObject": enc.EncodeToString([]byte{0xa0}),
		},
	})
	var urls []string
	for _, r := range run.Requests {
		urls = append(urls, r.URL)
	}
	want := []string{"/lg/passkey/register/begin", "/lg/passkey/confirm/begin", "/lg/passkey/confirm/finish", "/lg/passkey/register/begin", "/lg/passkey/register/finish"}
	if !slices.Equal(urls, want) || !slices.Equal(run.Prompts, []string{"get", "create"}) || run.Assigned != "/account" {
		t.Fatalf("requests %v (want %v), prompts %v, assigned %q, status %q", urls, want, run.Prompts, run.Assigned, run.Status)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(run.Requests[2].Body))
	if err != nil {
		t.Fatalf("go-webauthn cannot parse the confirmation the script posted: %v", err)
	}
	if !bytes.Equal(parsed.RawID, existing) || parsed.Response.CollectedClientData.Challenge != assertOpts.Response.Challenge.String() {
		t.Fatalf("parsed %+v", parsed)
	}

	// Any other refusal is shown, and nothing is confirmed.
	run = runScript(t, map[string]any{
		"mode": "enroll", "base": "/lg", "done": "/account",
		"refusals": map[string]any{"/passkey/register/begin": map[string]any{"status": 403,
			"body": map[string]string{"error": "enrol_sign_in", "message": "sign in first"}}},
		"replies":    map[string]any{},
		"credential": map[string]any{"rawId": "AQ", "clientDataJSON": "e30", "attestationObject": "oA"},
	})
	if run.Status != "sign in first" || len(run.Requests) != 1 || len(run.Prompts) != 0 {
		t.Fatalf("a refusal other than enrol_confirm: %+v", run)
	}
}

// TestScriptLoginIDRegistration: on the enrolment page offering LoginID,
// the script asks the guard first (confirming with a passkey of the
// account when told enrol_confirm), only then runs the operator's
// registration hook for the page's user, and posts its JWT.
func TestScriptLoginIDRegistration(t *testing.T) {
	wa := newRP(t)
	existing := []byte{0xff, 0xee, 0xdd}
	user := scriptUser{creds: []webauthn.Credential{{ID: existing}}}
	assertOpts, _, err := wa.BeginLogin(user)
	if err != nil {
		t.Fatal(err)
	}
	authData := append(bytes.Repeat([]byte{0xfe}, 32), 0x05, 0, 0, 0, 9)
	clientData := []byte(`{"type":"webauthn.get","challenge":"` + assertOpts.Response.Challenge.String() + `","origin":"https://portal.example.com"}`)
	run := runScript(t, map[string]any{
		"mode": "enroll", "base": "/lg", "done": "/account", "methods": "loginid", "user": "alice",
		"click": "login-guard-loginid", "loginidJWT": "h.p.s",
		"refusals": map[string]any{"/loginid/register/begin": map[string]any{"once": true, "status": 403,
			"body": map[string]string{"error": "enrol_confirm", "message": "confirm first"}}},
		"replies": map[string]any{
			"/passkey/confirm/begin": assertOpts, "/passkey/confirm/finish": map[string]any{"ok": true},
			"/loginid/register/begin": map[string]any{"ok": true}, "/loginid/register/finish": map[string]any{"ok": true},
		},
		"assertion": map[string]any{
			"rawId": enc.EncodeToString(existing), "clientDataJSON": enc.EncodeToString(clientData),
			"authenticatorData": enc.EncodeToString(authData), "signature": enc.EncodeToString([]byte{0x30, 0x01}),
			"userHandle": enc.EncodeToString(user.WebAuthnID()),
		},
	})
	var urls []string
	for _, r := range run.Requests {
		urls = append(urls, r.URL)
	}
	want := []string{"/lg/loginid/register/begin", "/lg/passkey/confirm/begin", "/lg/passkey/confirm/finish", "/lg/loginid/register/begin", "/lg/loginid/register/finish"}
	if !slices.Equal(urls, want) || !slices.Equal(run.Prompts, []string{"get", "loginid"}) || run.HookUser != "alice" || run.Assigned != "/account" {
		t.Fatalf("requests %v (want %v), prompts %v, hook user %q, assigned %q, status %q", urls, want, run.Prompts, run.HookUser, run.Assigned, run.Status)
	}
	if last := run.Requests[4]; last.Body != `{"jwt":"h.p.s"}` || last.Headers["X-Login-Guard"] != "1" {
		t.Fatalf("posted %+v", last)
	}

	// Any other refusal is shown (enrol_not_allowed worded for LoginID,
	// TestScriptLoginIDRegistrationWording), and nothing is registered at
	// LoginID.
	run = runScript(t, map[string]any{
		"mode": "enroll", "base": "/lg", "done": "/account", "methods": "loginid", "user": "alice",
		"click": "login-guard-loginid", "loginidJWT": "h.p.s",
		"refusals": map[string]any{"/loginid/register/begin": map[string]any{"status": 403,
			"body": map[string]string{"error": "enrol_not_allowed", "message": "not now"}}},
		"replies": map[string]any{},
	})
	if !strings.Contains(run.Status, "can't be used to register a LoginID sign-in") || len(run.Requests) != 1 || run.HookUser != "" || len(run.Prompts) != 0 {
		t.Fatalf("a refusal before the registration: %+v", run)
	}
}

// guardRefusal is the JSON body the guard sends for code: its own
// message, as the page would receive it.
func guardRefusal(t *testing.T, code pages.Code) map[string]string {
	t.Helper()
	w := httptest.NewRecorder()
	if err := pages.Default().WriteJSON(w, pages.Answer{Code: code}); err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// TestScriptLoginIDRegistrationWording: what the enrolment page says
// while registering a LoginID sign-in names LoginID, not a passkey: the
// guard's refusals whose messages speak of registering a passkey are
// worded for LoginID, an account that already has one is told so (not
// that no more passkeys can be added), and so is a device LoginID says
// already has one. A refusal of the passkey confirmation keeps the
// guard's message.
func TestScriptLoginIDRegistrationWording(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"mode": "enroll", "base": "/lg", "done": "/lg/enrolled", "methods": "loginid", "user": "alice",
			"click": "login-guard-loginid", "loginidJWT": "h.p.s",
			"replies": map[string]any{"/loginid/register/begin": map[string]any{"ok": true}, "/loginid/register/finish": map[string]any{"ok": true}},
		}
	}
	passkeyWords := regexp.MustCompile(`(?i)passkey`)

	run := runScript(t, base())
	if run.Status != "LoginID sign-in registered." || run.Assigned != "/lg/enrolled" {
		t.Errorf("after the registration: status %q, assigned %q", run.Status, run.Assigned)
	}

	for _, c := range []struct {
		code pages.Code
		path string
		want string // a phrase of what the page must say
	}{
		{pages.EnrolSignIn, "/loginid/register/begin", "To register a LoginID sign-in, sign in"},
		{pages.EnrolSignInAgain, "/loginid/register/begin", "A LoginID sign-in can only be registered"},
		{pages.EnrolNotAllowed, "/loginid/register/begin", "can't be used to register a LoginID sign-in"},
		{pages.EnrolLinkUsed, "/loginid/register/begin", "If you registered your LoginID sign-in with it"},
		{pages.EnrolLinkUsed, "/loginid/register/finish", "If you registered your LoginID sign-in with it"},
		{pages.StepUpFailed, "/loginid/register/finish", "LoginID's registration couldn't be checked"},
		{pages.EnrolLoginIDRegistered, "/loginid/register/begin", "already has a LoginID sign-in registered"},
		{pages.EnrolLoginIDRegistered, "/loginid/register/finish", "already has a LoginID sign-in registered"},
	} {
		sc := base()
		sc["refusals"] = map[string]any{c.path: map[string]any{"status": c.code.Status(), "body": guardRefusal(t, c.code)}}
		run := runScript(t, sc)
		if !strings.Contains(run.Status, c.want) || passkeyWords.MatchString(run.Status) || run.Assigned != "" {
			t.Errorf("%s at %s: the page says %q (want %q, no passkey)", c.code, c.path, run.Status, c.want)
		}
	}

	// A passkey added to the account between begin and finish: confirm
	// with one of them to register the LoginID sign-in, not "to add
	// another" passkey.
	sc := base()
	sc["refusals"] = map[string]any{"/loginid/register/finish": map[string]any{"status": 403, "body": guardRefusal(t, pages.EnrolConfirm)}}
	if run := runScript(t, sc); !strings.Contains(run.Status, "To register a LoginID sign-in, confirm with one of your passkeys") || strings.Contains(run.Status, "add another") {
		t.Errorf("enrol_confirm at the finish: the page says %q", run.Status)
	}

	// LoginID's SDK reports a credential already on this device.
	sc = base()
	sc["loginidError"] = "InvalidStateError"
	if run := runScript(t, sc); !strings.Contains(run.Status, "already has a LoginID sign-in") || passkeyWords.MatchString(run.Status) || len(run.Requests) != 1 {
		t.Errorf("InvalidStateError from the hook: the page says %q after %d requests", run.Status, len(run.Requests))
	}

	// The passkey confirmation's own refusal is about the passkey: the
	// guard's message stands.
	sc = base()
	sc["refusals"] = map[string]any{
		"/loginid/register/begin": map[string]any{"once": true, "status": 403, "body": guardRefusal(t, pages.EnrolConfirm)},
		"/passkey/confirm/begin":  map[string]any{"status": 403, "body": map[string]string{"error": "step_up_failed", "message": "the guard's words"}},
	}
	if run := runScript(t, sc); run.Status != "the guard's words" {
		t.Errorf("a refused passkey confirmation: the page says %q", run.Status)
	}
}
