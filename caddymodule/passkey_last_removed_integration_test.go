package caddymodule_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// TestLastPasskeyRemovedNeedsEnrolLink: once the operator removes an
// account's last passkey through the admin API (a stolen one), a clean
// sign-in no longer registers a first passkey for it: 403
// enrol_needs_link, audit reason passkey_enrol_needs_link, nothing
// stored, and the admin API lists the account as enrol_link_required. So
// an attacker with the password and one clean sign-in cannot enrol their
// own authenticator right after the removal. An enrolment link registers
// one and clears the mark.
func TestLastPasskeyRemovedNeedsEnrolLink(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, admin, host, js := enrolAdminGuard(t, upstream)
	origin := "http://" + host["Host"]
	signIn := func(ip string) *stepClient {
		t.Helper()
		c := newStepClient(t, g, ip)
		resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, host)
		if resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard") == "" {
			t.Fatalf("clean login: %d", resp.StatusCode)
		}
		return c
	}
	register := func(c *stepClient, key *softauthn.Authenticator) {
		t.Helper()
		resp, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("register/begin: %d %s", resp.StatusCode, opts)
		}
		resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("register/finish: %d %s", resp.StatusCode, body)
		}
	}
	type listing struct {
		Credentials       []json.RawMessage
		EnrolLinkRequired *bool `json:"enrol_link_required"`
	}
	list := func(method, query string) listing {
		t.Helper()
		var out listing
		if st := adminCall(t, method, admin+"/login_guard/passkeys/credentials?user=alice"+query, "", &out); st != http.StatusOK {
			t.Fatalf("%s credentials: %d %+v", method, st, out)
		}
		return out
	}
	want := func(when string, l listing, n int, marked bool) {
		t.Helper()
		if len(l.Credentials) != n || l.EnrolLinkRequired == nil || *l.EnrolLinkRequired != marked {
			t.Fatalf("%s: %d passkeys, enrol_link_required %v; want %d, %v", when, len(l.Credentials), l.EnrolLinkRequired, n, marked)
		}
	}

	// The owner's only passkey is stolen; the operator removes it.
	stolen := softauthn.New(t, origin)
	register(signIn("198.51.100.10"), stolen)
	before := list(http.MethodGet, "")
	removed := list(http.MethodDelete, "&id="+base64.RawURLEncoding.EncodeToString(stolen.CredentialID))

	// The attacker, with the password and a clean sign-in, cannot
	// register their own.
	attacker := signIn("203.0.113.20")
	resp, body := attacker.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	var got struct{ Error string }
	_ = json.Unmarshal([]byte(body), &got)
	if resp.StatusCode != http.StatusForbidden || got.Error != "enrol_needs_link" {
		t.Fatalf("register/begin after the last passkey was removed: %d %s, want 403 enrol_needs_link", resp.StatusCode, body)
	}
	if resp, page := attacker.do("GET", "/verify/enrol", "", "", host); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "An enrolment link is needed") {
		t.Fatalf("enrol page: %d, want 403 saying an enrolment link is needed: %s", resp.StatusCode, page)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "passkey_enrol_needs_link") {
		t.Fatalf("no passkey_enrol_needs_link in the audit lines: %v", auditReasons(t, g, "step_up"))
	}
	want("before the removal", before, 1, false)
	want("the removal's answer", removed, 0, true)
	want("after the refusal", list(http.MethodGet, ""), 0, true)
	var lid struct {
		EnrolLinkRequired bool `json:"enrol_link_required"`
	}
	if st := adminCall(t, http.MethodGet, admin+"/login_guard/passkeys/loginid?user=alice", "", &lid); st != http.StatusOK || !lid.EnrolLinkRequired {
		t.Fatalf("loginid listing: %d %+v", st, lid)
	}

	// The operator sends the owner an enrolment link: it registers one
	// and clears the mark.
	var link map[string]string
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"alice","ttl":"1h"}`, &link); st != http.StatusOK || !strings.HasPrefix(link["link"], "/verify/enrol?t=") {
		t.Fatalf("enrol_link: %d %v", st, link)
	}
	owner := newStepClient(t, g, "198.51.100.11")
	if resp, _ := owner.do("GET", link["link"], "", "", host); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d", resp.StatusCode)
	}
	kept := softauthn.New(t, origin)
	register(owner, kept)
	want("after the link", list(http.MethodGet, ""), 1, false)
	// A sign-in alone adds no other: the new passkey must confirm it.
	resp, body = signIn("203.0.113.21").do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	_ = json.Unmarshal([]byte(body), &got)
	if resp.StatusCode != http.StatusForbidden || got.Error != "enrol_confirm" {
		t.Fatalf("register/begin after the link: %d %s, want 403 enrol_confirm", resp.StatusCode, body)
	}

	// The operator sets the mark and clears it by hand.
	mark := admin + "/login_guard/passkeys/enrol_link_required"
	var m struct {
		EnrolLinkRequired bool `json:"enrol_link_required"`
		Changed           bool `json:"changed"`
	}
	if st := adminCall(t, http.MethodPut, mark, `{"user":"alice"}`, &m); st != http.StatusCreated || !m.EnrolLinkRequired || !m.Changed {
		t.Fatalf("PUT enrol_link_required: %d %+v", st, m)
	}
	resp, body = signIn("203.0.113.22").do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	_ = json.Unmarshal([]byte(body), &got)
	if resp.StatusCode != http.StatusForbidden || got.Error != "enrol_needs_link" {
		t.Fatalf("register/begin with the mark set by hand: %d %s, want 403 enrol_needs_link", resp.StatusCode, body)
	}
	if st := adminCall(t, http.MethodDelete, mark+"?user=alice", "", &m); st != http.StatusOK || m.EnrolLinkRequired || !m.Changed {
		t.Fatalf("DELETE enrol_link_required: %d %+v", st, m)
	}
	m.EnrolLinkRequired = true
	if st := adminCall(t, http.MethodGet, mark+"?user=alice", "", &m); st != http.StatusOK || m.EnrolLinkRequired {
		t.Fatalf("GET enrol_link_required: %d %+v", st, m)
	}
	req, _ := http.NewRequest(http.MethodPatch, mark, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, PUT, DELETE" {
		t.Fatalf("PATCH enrol_link_required: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
