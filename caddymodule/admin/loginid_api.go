package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/passkeys"
)

// handleLoginID keeps a user's LoginID record (`loginid {
// require_enrolment }`: a LoginID token counts only for a user the guard
// saw register under its enrolment rules, or imported here):
//
//	GET    /login_guard/passkeys/loginid?user=…   → {"user": "…", "loginid": {…} or null, "enrol_link_required": false}
//	PUT    /login_guard/passkeys/loginid {"user": "…"}   import: 201 created, 200 already there
//	DELETE /login_guard/passkeys/loginid?user=…   → {"user": "…", "removed": true|false, "enrol_link_required": …}
//
// Removing the record of an account with no passkey marks it as removing
// its last passkey does (enrol_link_required: its next enrolment needs an
// enrolment link). An import neither needs a link nor clears the mark.
//
// A record is {"user": the name exactly as registered at LoginID, "via":
// sign_in|enrol_link|import, "at": "…", "sub": the registration token's
// sub, when it had one}. Import only users whose LoginID credential you
// know to be their own (registered through an enrolment you control):
// their tokens are then taken. A PUT for another spelling of a name
// whose account has a record is refused (409): remove that one first.
func handleLoginID(a *app.App, w http.ResponseWriter, r *http.Request) error {
	user, rt, err := accountRequest(a, w, r, "the name exactly as the login sends it, and as it is registered at LoginID", " (LoginID records are kept beside the passkeys)")
	if user == "" {
		return err
	}
	status, out := http.StatusOK, map[string]any{"user": user}
	switch r.Method {
	case http.MethodGet:
		rec, err := rt.Passkeys.LoginID(r.Context(), user)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not read the LoginID record")}
		}
		out["loginid"] = rec
	case http.MethodPut:
		rec, created, err := rt.Passkeys.ImportLoginID(r.Context(), user)
		if passkeys.ReasonOf(err) == passkeys.ReasonLoginIDOtherName {
			return caddy.APIError{HTTPStatus: http.StatusConflict, Err: errors.New("this account has a LoginID record for another spelling of the name (GET it): DELETE it first")}
		}
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not store the LoginID record")}
		}
		if created {
			status = http.StatusCreated
		}
		out["loginid"], out["created"] = rec, created
	case http.MethodDelete:
		removed, err := rt.Passkeys.RemoveLoginID(r.Context(), user)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not remove the LoginID record")}
		}
		out["removed"] = removed
	}
	if r.Method != http.MethodPut {
		linkRequired, err := rt.Passkeys.EnrolLinkRequired(r.Context(), user)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: errors.New("could not read the LoginID record")}
		}
		out["enrol_link_required"] = linkRequired
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(out)
}
