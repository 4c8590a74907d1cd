package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
)

// handleEnrolLinkRequired reads, sets and clears an account's
// enrol_link_required mark (removing its last passkey, or its LoginID
// record when it has no passkey, sets it; an enrolment link's
// registration clears it; while set, a sign-in alone enrols nothing):
//
//	GET    /login_guard/passkeys/enrol_link_required?user=…   → {"user": "…", "enrol_link_required": true|false}
//	PUT    /login_guard/passkeys/enrol_link_required {"user": "…"}   set: 201 set now, 200 already set
//	DELETE /login_guard/passkeys/enrol_link_required?user=…   clear: {"user": "…", "enrol_link_required": false, "changed": true|false}
//
// PUT answers with "changed" too. Set it for an account whose password
// may be known to whoever held a passkey or LoginID credential removed
// before marks were kept; clear it only when a clean sign-in may enrol
// the account again (the link is the normal way).
func handleEnrolLinkRequired(a *app.App, w http.ResponseWriter, r *http.Request) error {
	user, rt, err := accountRequest(a, w, r, "the name as the login sends it", "")
	if user == "" {
		return err
	}
	status, out := http.StatusOK, map[string]any{"user": user}
	if r.Method == http.MethodGet {
		required, err := rt.Passkeys.EnrolLinkRequired(r.Context(), user)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not read the account's record")}
		}
		out["enrol_link_required"] = required
	} else {
		required := r.Method == http.MethodPut
		changed, err := rt.Passkeys.SetEnrolLinkRequired(r.Context(), user, required)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not store the account's record")}
		}
		if changed && required {
			status = http.StatusCreated
		}
		out["enrol_link_required"], out["changed"] = required, changed
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(out)
}

// accountRequest reads the account an account-record endpoint (GET,
// PUT, DELETE) is about: from the query string, or from a PUT's body
// {"user": …}; userHelp says which name, noPasskeys what a config without
// a passkeys block lacks. An empty user comes with the answer's error.
func accountRequest(a *app.App, w http.ResponseWriter, r *http.Request, userHelp, noPasskeys string) (string, *app.StepUpRuntime, error) {
	q := r.URL.Query()
	user := q.Get("user")
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		if err := checkQuery(q, "user"); err != nil {
			return "", nil, err
		}
	case http.MethodPut:
		if err := checkQuery(q); err != nil {
			return "", nil, err
		}
		var req struct {
			User string `json:"user"`
		}
		if err := decodeBody(r, &req); err != nil {
			return "", nil, badRequest(errors.New(`body must be JSON like {"user":"jlopez"}: ` + err.Error()))
		}
		user = req.User
	default:
		return "", nil, methodNotAllowed(w, r, http.MethodGet, http.MethodPut, http.MethodDelete)
	}
	if strings.TrimSpace(user) == "" {
		return "", nil, badRequest(errors.New("user is required (" + userHelp + ")"))
	}
	if a.Passkeys == nil {
		return "", nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no running login_guard app with a passkeys block" + noPasskeys)}
	}
	rt, err := a.StepUpRuntime()
	if err != nil {
		return "", nil, caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	return user, rt, nil
}
