package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
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
// route (default /verify). The link registers one passkey for that user.
// Hand it over a channel you trust: whoever opens it can enrol.
//
// It also lists a user's passkeys and removes one, the answer to a lost
// device or to a passkey a sign-count regression marked (refused until
// removed):
//
//	GET    /login_guard/passkeys/credentials?user=…
//	DELETE /login_guard/passkeys/credentials?user=…&id=<id as listed>
//	→ {"credentials": [{"id": "…", "sign_count": 7, "clone_warning": false}]}
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
	if err := stepup.ValidateTarget(req.Base, nil); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("base: %v (want the step-up route's path, like /verify)", err)}
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
		"link":    req.Base + stepup.PathEnrol + "?t=" + url.QueryEscape(tok),
		"expires": time.Now().Add(ttl).UTC().Format(time.RFC3339),
	})
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string][]credentialJSON{"credentials": out})
}

// Interface guards.
var (
	_ caddy.AdminRouter = (*PasskeyAdmin)(nil)
)
