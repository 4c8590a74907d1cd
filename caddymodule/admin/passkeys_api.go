package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/caddymodule/routecheck"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
)

func init() {
	caddy.RegisterModule(PasskeyAdmin{})
}

// PasskeyAdmin issues one-time passkey enrolment links on Caddy's admin
// listener (loopback or a unix socket by default), for users who cannot
// enrol after a clean login — a user every login of whom is challenged,
// or one who lost their only passkey:
//
//	POST /login_guard/passkeys/enrol_link {"user": "...", "ttl": "24h", "base": "/verify"}
//	→ {"link": "/verify/enrol?t=…", "expires": "…"}
//
// ttl defaults to 24h (at most 7 days); base is the path of the step-up
// route (default /verify) or its absolute URL, and must be one a step-up
// route of the running config serves (see enrolBase). The link registers
// one passkey for that user.
// Hand it over a channel you trust: whoever opens it can enrol.
//
// It also lists a user's passkeys and removes one, the answer to a lost
// device or to a passkey a sign-count regression marked (refused until
// removed):
//
//	GET    /login_guard/passkeys/credentials?user=…
//	DELETE /login_guard/passkeys/credentials?user=…&id=<id as listed>
//	→ {"credentials": [{"id": "…", "sign_count": 7, "clone_warning": false}],
//	   "enrol_link_required": false}
//
// Removing the last passkey marks the account (enrol_link_required): its
// next enrolment needs an enrolment link, which clears the mark; a
// sign-in alone no longer registers a first passkey. The operator reads,
// sets and clears the mark at /login_guard/passkeys/enrol_link_required
// (handleEnrolLinkRequired).
//
// And it keeps the LoginID records beside the passkeys (see
// handleLoginID): GET, PUT (import) and DELETE /login_guard/passkeys/loginid.
type PasskeyAdmin struct {
	app appFinder
}

// CaddyModule returns the Caddy module information.
func (PasskeyAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.login_guard_passkeys",
		New: func() caddy.Module { return new(PasskeyAdmin) },
	}
}

// Routes implements caddy.AdminRouter. A link needs the app's keys, so
// the endpoint answers 503 until the app has started.
func (p *PasskeyAdmin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/login_guard/passkeys/enrol_link", Handler: p.app.handler(true, handleEnrolLink)},
		{Pattern: "/login_guard/passkeys/credentials", Handler: p.app.handler(true, handleCredentials)},
		{Pattern: "/login_guard/passkeys/loginid", Handler: p.app.handler(true, handleLoginID)},
		{Pattern: "/login_guard/passkeys/enrol_link_required", Handler: p.app.handler(true, handleEnrolLinkRequired)},
	}
}

func handleEnrolLink(a *app.App, w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, r, http.MethodPost)
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	var req struct {
		User string `json:"user"`
		TTL  string `json:"ttl"`
		Base string `json:"base"`
	}
	if err := decodeBody(r, &req); err != nil {
		return badRequest(fmt.Errorf("body must be JSON like {\"user\":\"jlopez\",\"ttl\":\"24h\",\"base\":\"/verify\"}: %v", err))
	}
	if strings.TrimSpace(req.User) == "" {
		// A login without a user is refused: no one could use the link.
		return badRequest(errors.New("user is required (the name as the login sends it)"))
	}
	ttl := 24 * time.Hour
	if req.TTL != "" {
		d, err := caddy.ParseDuration(req.TTL)
		if err != nil || d <= 0 || d > 7*24*time.Hour {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("ttl %q: want a duration up to 168h", req.TTL)}
		}
		ttl = d
	}
	if req.Base == "" {
		req.Base = "/verify"
	}
	base, err := enrolBase(req.Base, runningServers())
	if err != nil {
		return badRequest(fmt.Errorf("base %q: %v", req.Base, err))
	}
	if a.Passkeys == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no running login_guard app with a passkeys block")}
	}
	rt, err := a.StepUpRuntime()
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	tok, err := rt.Passkeys.IssueEnrolToken(req.User, ttl)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: errors.New("could not issue the link")}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]string{
		"link":    base + stepup.PathEnrol + "?t=" + url.QueryEscape(tok),
		"expires": time.Now().Add(ttl).UTC().Format(time.RFC3339),
	})
}

// basePath is a step-up route's base path as a link may hold it: segments
// of unreserved characters, none of them "." or ".." (which browsers
// resolve, also written %2e), no query, no fragment, no escapes.
var basePath = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+/?$`)

// enrolBase checks an enrolment link's base and returns it as the link
// is built on: a path ("/verify") or an absolute URL
// ("https://auth.example.com/verify"; http only on a loopback host),
// whose path a step-up route of the running config is placed to serve
// (its enrolment page, base + /enrol) and, for a URL, on that host (a
// host matcher above the route names it; for a loopback host none need).
// Anything else would hand a user a link that goes nowhere, or carries
// the token to another page or site.
func enrolBase(base string, servers map[string]*caddyhttp.Server) (string, error) {
	path, host, origin, loopback := base, "", "", false
	if !strings.HasPrefix(base, "/") {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || u.Opaque != "" {
			return "", errors.New("want the step-up route's path, like /verify, or an absolute URL, like https://auth.example.com/verify")
		}
		loopback = isLoopback(u.Hostname())
		if u.Scheme != "https" && (u.Scheme != "http" || !loopback) {
			return "", errors.New("an absolute base must be https (http only on localhost or a loopback address)")
		}
		if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(base, "#") {
			return "", errors.New("an absolute base takes no user info, query or fragment")
		}
		path, host, origin = u.EscapedPath(), strings.ToLower(u.Host), u.Scheme+"://"+strings.ToLower(u.Host)
	}
	if !basePath.MatchString(path) || slices.ContainsFunc(strings.Split(path, "/"), func(s string) bool { return s == "." || s == ".." }) {
		return "", errors.New("the path must be like /verify: letters, digits and - . _ ~ between slashes, no . or .. segment, no query or fragment")
	}
	path = strings.TrimSuffix(path, "/")
	enrol := path + stepup.PathEnrol
	switch {
	case host == "" && !routecheck.StepUpServedAt(servers, "", enrol, true):
		return "", fmt.Errorf("no step-up route of the running config serves %s (want the path of one, like /verify)", enrol)
	case host != "" && !routecheck.StepUpServedAt(servers, host, enrol, loopback):
		return "", fmt.Errorf("no step-up route of the running config serves %s on host %s (want a URL on a host a site of this config names, with the step-up route under that path)", enrol, host)
	}
	return origin + path, nil
}

// isLoopback: localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// runningServers are the HTTP servers of the running config (nil when it
// has no http app).
func runningServers() map[string]*caddyhttp.Server {
	active := caddy.ActiveContext()
	if active.Context == nil {
		return nil
	}
	v, err := active.AppIfConfigured("http")
	if err != nil {
		return nil
	}
	if h, ok := v.(*caddyhttp.App); ok {
		return h.Servers
	}
	return nil
}

// credentialJSON is one passkey in the credentials answer.
type credentialJSON struct {
	ID           string `json:"id"`
	SignCount    uint32 `json:"sign_count"`
	CloneWarning bool   `json:"clone_warning"`
}

func handleCredentials(a *app.App, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if err := checkQuery(q, "user"); err != nil {
			return err
		}
	case http.MethodDelete:
		if err := checkQuery(q, "user", "id"); err != nil {
			return err
		}
		if q.Get("id") == "" {
			return badRequest(errors.New("id is required (give the id as GET lists it)"))
		}
	default:
		return methodNotAllowed(w, r, http.MethodGet, http.MethodDelete)
	}
	user := q.Get("user")
	if user == "" {
		return badRequest(errors.New("user is required"))
	}
	if a.Passkeys == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no running login_guard app with a passkeys block")}
	}
	rt, err := a.StepUpRuntime()
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	creds, err := rt.Passkeys.Credentials(r.Context(), user)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not read the passkeys")}
	}
	if r.Method == http.MethodDelete {
		id, err := base64.RawURLEncoding.DecodeString(q.Get("id"))
		if err != nil || !slices.ContainsFunc(creds, func(c passkeys.Credential) bool { return bytes.Equal(c.ID, id) }) {
			return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("id: not one of this user's passkeys (give the id as GET lists it)")}
		}
		if err := rt.Passkeys.RemoveCredential(r.Context(), user, id); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not remove the passkey")}
		}
		creds = slices.DeleteFunc(creds, func(c passkeys.Credential) bool { return bytes.Equal(c.ID, id) })
	}
	out := make([]credentialJSON, 0, len(creds))
	for _, c := range creds {
		out = append(out, credentialJSON{ID: base64.RawURLEncoding.EncodeToString(c.ID), SignCount: c.SignCount, CloneWarning: c.CloneWarning})
	}
	linkRequired, err := rt.Passkeys.EnrolLinkRequired(r.Context(), user)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not read the passkeys")}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]any{"credentials": out, "enrol_link_required": linkRequired})
}

// Interface guards.
var (
	_ caddy.AdminRouter = (*PasskeyAdmin)(nil)
)
