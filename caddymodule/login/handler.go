// Package login is the login route, the `http.handlers.login_guard`
// module and its `login_guard` Caddyfile directive: it guards login,
// logout, operation and rules-only (none) routes — reads the request,
// decides with the route's IP lists, assertion, local rules and engines,
// passes the request on, refuses it or sends it to the step-up route, and
// reports the event. A `login_guard` block with `event step_up` is the
// step-up route, another module (stepuproute), which the directive hands
// the block to.
package login

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/formbody"
	"github.com/login-guard/login_guard/internal/request"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Event kinds a handler can guard.
const (
	EventLogin     = request.EventLogin
	EventLogout    = request.EventLogout
	EventOperation = request.EventOperation
	// EventNone guards a route with rules only: no analytics event.
	EventNone = request.EventNone
)

// Handler guards one login route (login, logout, operation or none): it
// reads the request, decides, and passes, blocks or sends it to the
// step-up route (its own module, stepuproute), then reports the event.
// Configure it with the `login_guard` Caddyfile directive
// (docs/configuration.md).
type Handler struct {
	// Name identifies the route in state keys, metrics and admin views.
	// Default: derived from the event and the route's position.
	Name string `json:"name,omitempty"`
	// Event is login, logout, operation or none (local rules only, no
	// analytics event).
	Event string `json:"event"`

	// UserField and DeviceField name the body fields (a dotted path in a
	// JSON body). Defaults: username, smartid_data.
	UserField   string `json:"user_field,omitempty"`
	DeviceField string `json:"device_field,omitempty"`
	// PasswordFields are dropped while parsing, never stored or sent.
	// Default: password.
	PasswordFields []string `json:"password_fields,omitempty"`
	// MaxBody caps the request body; larger bodies get 413. Default 64KiB.
	MaxBody int64 `json:"max_body,omitempty"`
	// UnsupportedMediaStatus answers a non-empty body the guard cannot
	// parse. Default 415.
	UnsupportedMediaStatus int `json:"unsupported_media_status,omitempty"`

	// Channel overrides the SmartID channel id for this route.
	Channel string `json:"channel,omitempty"`
	// ChannelKind is web (default) or app.
	ChannelKind string `json:"channel_kind,omitempty"`
	// Report is success or all (default): whether failed logins are sent
	// to SmartID too.
	Report string `json:"report,omitempty"`
	// LogUser is plain (default), hash or none.
	LogUser string `json:"log_user,omitempty"`
	// AuditLine is own_line (default: a line of the route's own logger)
	// or access_log (the same values as the "login_guard" field of Caddy's
	// access log line for the request, where the server writes one).
	AuditLine string `json:"audit_line,omitempty"`
	// SessionCookie names the app's own session cookie; when set, the
	// session sent to SmartID is an HMAC of it rather than the guard's
	// session id.
	SessionCookie string `json:"session_cookie,omitempty"`

	// AllowIP skips every rule and engine for these ranges (events are
	// still reported). DenyIP refuses these ranges with 403.
	AllowIP []string `json:"allow_ip,omitempty"`
	DenyIP  []string `json:"deny_ip,omitempty"`

	// Success judges whether the upstream accepted a login.
	Success *SuccessCriteria `json:"success,omitempty"`
	// Operation maps request fields and constants to SmartID's operation
	// schema (event operation only).
	Operation map[string]string `json:"operation,omitempty"`

	// ErrorPages says who writes the route's refusals: guard (default, the
	// guard's own page or JSON) or handle_errors (the site's handle_errors,
	// through caddyhttp.Error).
	ErrorPages string `json:"error_pages,omitempty"`

	// UpstreamHeaders, when set, is the secret that signs the
	// X-Login-Guard-* headers added to allowed requests (opt-in; format in
	// package upstreamsig).
	UpstreamHeaders string `json:"upstream_headers,omitempty"`

	// MissingUser is what a login without a user (absent, empty or only
	// whitespace) gets: deny (the default: 400 missing_user), allow (for
	// identifier-first flows whose password step carries no user) or
	// monitor (passed, with the reason missing_user logged). Event login
	// only.
	MissingUser string `json:"missing_user,omitempty"`
	// OnInvalidOperation is what an operation whose SmartID event cannot
	// be built gets (a mapped number that is not a plain decimal, say):
	// refuse (the default: 400 invalid_operation) or pass (the event is
	// skipped). Event operation only.
	OnInvalidOperation string `json:"on_invalid_operation,omitempty"`

	// Option groups, each with its parsing and provisioning next to its
	// code; their JSON fields appear inline in the handler's config.
	request.RuleOptions
	EngineOptions
	StepUpOptions
	LoginIDOptions

	app       *app.App
	logger    *zap.Logger
	spec      formbody.Spec
	route     *request.Route
	channelID int
	opMapping *operationMapping

	upstreamSecret []byte

	// legacyStepUpJSON holds the config of a route saved as this module
	// with event step_up (before the step-up route became its own
	// module); Provision loads the step-up module from it, which then
	// serves the route.
	legacyStepUpJSON json.RawMessage
	legacyStepUp     caddyhttp.MiddlewareHandler
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.login_guard",
		New: func() caddy.Module { return new(Handler) },
	}
}

// GuardRouteName is the route's name, for the app's check that every
// guard route can be reached (caddymodule/routecheck).
func (h *Handler) GuardRouteName() string { return h.Name }

// GuardEvent is the route's event, for the app's check of its matchers.
func (h *Handler) GuardEvent() string { return h.Event }

// minUpstreamSecret is the shortest upstream_headers secret taken.
const minUpstreamSecret = 16

// StepUpTargetPath is the path of a same-site step_up target, for the
// app's check that a step-up route serves it (caddymodule/routecheck).
func (h *Handler) StepUpTargetPath() string {
	if u, err := url.Parse(h.StepUp); err == nil && u.Host == "" && strings.HasPrefix(u.Path, "/") {
		return u.Path
	}
	return ""
}

// ServesStepUp: a route saved with event step_up is a step-up route.
func (h *Handler) ServesStepUp() bool { return h.legacyStepUp != nil }

// Provision sets defaults, resolves env placeholders and compiles the
// route's rules. It fails with a message naming the field.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.legacyStepUpJSON != nil {
		return h.provisionLegacyStepUp(ctx)
	}
	appIface, err := ctx.App("login_guard")
	if err != nil {
		return fmt.Errorf("loading login_guard app: %v", err)
	}
	return h.provision(appIface.(*app.App), ctx.Logger())
}

// provision does the work of Provision given the app, so benchmarks and
// unit tests can build a handler without a running Caddy.
func (h *Handler) provision(a *app.App, logger *zap.Logger) error {
	h.app, h.logger = a, logger
	var err error
	// Placeholders resolve now; an unset one is an error, not an empty
	// name, field or secret (an empty user_field would read "username").
	res := caddyopt.NewResolver()
	h.Name = res.Value("name", h.Name)
	h.UserField, h.DeviceField = res.Value("user_field", h.UserField), res.Value("device_field", h.DeviceField)
	channel, upstreamSecret := res.Value("channel", h.Channel), res.Value("upstream_headers", h.UpstreamHeaders)
	if res.Err != nil {
		return res.Err
	}
	if h.Name == "" {
		h.Name = h.defaultName()
	}
	if err := request.CheckEvent(h.Name, h.Event, map[string]bool{"report": h.Report != "", "success": h.Success != nil}); err != nil {
		return err
	}
	if h.UserField == "" {
		h.UserField = "username"
	}
	if h.DeviceField == "" {
		h.DeviceField = "smartid_data"
	}
	if len(h.PasswordFields) == 0 {
		h.PasswordFields = []string{"password"}
	}
	if h.MaxBody == 0 {
		h.MaxBody = formbody.DefaultMaxBody
	}
	if h.UnsupportedMediaStatus == 0 {
		h.UnsupportedMediaStatus = http.StatusUnsupportedMediaType
	}
	if h.ChannelKind == "" {
		h.ChannelKind = "web"
	}
	if h.Report == "" {
		h.Report = "all"
	}
	if h.LogUser == "" {
		h.LogUser = "plain"
	}
	if h.AuditLine == "" {
		h.AuditLine = request.AuditOwnLine
	}
	if h.Success == nil {
		h.Success = new(SuccessCriteria)
	}
	if h.MissingUser == "" && h.Event == EventLogin {
		h.MissingUser = MissingUserDeny
	}
	if h.OnInvalidOperation == "" && h.Event == EventOperation {
		h.OnInvalidOperation = OnInvalidOperationRefuse
	}
	if err := h.Success.provision(); err != nil {
		return fmt.Errorf("success: %v", err)
	}
	if err := caddyopt.CheckCookieNames("session_cookie", h.SessionCookie, "success: cookie", h.Success.Cookie); err != nil {
		return fmt.Errorf("route %q: %v", h.Name, err)
	}
	h.spec = formbody.Spec{
		UserField:         h.UserField,
		DeviceField:       h.DeviceField,
		PasswordFields:    h.PasswordFields,
		UnsupportedStatus: h.UnsupportedMediaStatus,
	}
	h.route = &request.Route{Name: h.Name, NameValue: h.Name, Event: h.Event, LogUser: h.LogUser, ErrorPages: h.ErrorPages,
		AuditToAccessLog: h.AuditLine == request.AuditAccessLog,
		App:              h.app, Logger: h.logger, XFFWarn: h.app.UntrustedProxyWarning()}
	if err = h.route.SetIPLists(res, h.AllowIP, h.DenyIP); err != nil {
		return err
	}
	if h.Channel != "" {
		if h.channelID, err = app.ParseChannel(channel); err != nil {
			return err
		}
	}
	if h.Event == EventOperation {
		if h.opMapping, err = compileOperationMapping(h.Operation); err != nil {
			return fmt.Errorf("operation: %v", err)
		}
		for _, f := range h.opMapping.referencedFields() {
			if !slices.Contains(h.PasswordFields, f) {
				h.spec.UniqueFields = append(h.spec.UniqueFields, f)
			}
		}
	}
	// The option groups provision themselves; the rules come last, as
	// they are the group that holds something (the counter store, the
	// admin registry) for Cleanup to give back.
	if err := h.EngineOptions.provision(h.app, h.Name); err != nil {
		return err
	}
	if err := h.LoginIDOptions.provision(h.app, h.Name, h.EngineOptions.onFailure); err != nil {
		return err
	}
	h.StepUpOptions.provision()
	if err := h.checkSelfieAccount(); err != nil {
		return err
	}
	h.spec.UniqueFields = append(h.spec.UniqueFields, h.LoginIDOptions.uniqueFields()...)
	if err := h.spec.Validate(); err != nil {
		return err
	}
	if s := upstreamSecret; s != "" {
		if len(s) < minUpstreamSecret {
			return fmt.Errorf("route %q: upstream_headers secret must be at least %d characters", h.Name, minUpstreamSecret)
		}
		h.upstreamSecret = []byte(s)
	}
	if err := h.RuleOptions.Provision(h.route); err != nil {
		return err
	}
	h.logMissingUserPolicy()
	return nil
}

// Validate checks fields against each other.
func (h *Handler) Validate() error {
	if h.legacyStepUp != nil {
		return nil // the step-up module validated itself
	}
	// The event was checked (request.CheckEvent) before provisioning.
	if h.Event != EventOperation && len(h.Operation) > 0 {
		return fmt.Errorf("route %q: operation mapping is only for event operation", h.Name)
	}
	if h.ChannelKind != "web" && h.ChannelKind != "app" {
		return fmt.Errorf("route %q: channel_kind must be web or app, not %q", h.Name, h.ChannelKind)
	}
	if h.Report != "all" && h.Report != "success" {
		return fmt.Errorf("route %q: report must be success or all, not %q", h.Name, h.Report)
	}
	switch h.LogUser {
	case "plain", "hash", "none":
	default:
		return fmt.Errorf("route %q: log_user must be plain, hash or none, not %q", h.Name, h.LogUser)
	}
	if h.AuditLine != request.AuditOwnLine && h.AuditLine != request.AuditAccessLog {
		return fmt.Errorf("route %q: audit_line must be own_line or access_log, not %q", h.Name, h.AuditLine)
	}
	if err := h.validateRequestPolicy(); err != nil {
		return err
	}
	if h.ErrorPages != "" && h.ErrorPages != request.ErrorPagesGuard && h.ErrorPages != request.ErrorPagesHandleErrors {
		return fmt.Errorf("route %q: error_pages must be guard or handle_errors, not %q", h.Name, h.ErrorPages)
	}
	if h.MaxBody < 0 || h.MaxBody > formbody.MaxMaxBody {
		return fmt.Errorf("route %q: max_body must be from 1 to %d bytes (1GiB), not %d", h.Name, formbody.MaxMaxBody, h.MaxBody)
	}
	if s := h.UnsupportedMediaStatus; s < 400 || s > 499 {
		return fmt.Errorf("route %q: unsupported_media_status must be a 4xx status, not %d", h.Name, s)
	}
	if h.app.SmartID == nil && h.Channel != "" {
		return fmt.Errorf("route %q: channel is set but the login_guard app has no smartid block", h.Name)
	}
	if err := h.validateGroups(); err != nil {
		return fmt.Errorf("route %q: %v", h.Name, err)
	}
	return nil
}

// validateGroups runs the option groups' own checks: their values, and
// what does not belong on a route with this event. The Caddyfile parser
// runs them too, to name the line of the option refused.
func (h *Handler) validateGroups() error {
	if err := h.EngineOptions.validate(h.Event); err != nil {
		return err
	}
	// on_engine_failure is also what an unverifiable assertion means when
	// nothing else says (assertion optional or passwordless).
	if h.OnEngineFailure != "" && len(h.Engines) == 0 && !h.LoginIDOptions.takesEngineFailure() {
		return refuseOption("on_engine_failure", "on_engine_failure needs engines, or an assertion optional or passwordless without on_assertion_unverifiable")
	}
	if option, err := h.RuleOptions.Unused(); err != nil {
		return refuseOption(option, "%v", err)
	}
	if _, err := accountKeys(h.AccountID); err != nil {
		return err
	}
	if err := h.LoginIDOptions.validate(); err != nil {
		return err
	}
	if err := h.StepUpOptions.validate(h.Event); err != nil {
		return err
	}
	return h.checkOperationFactor()
}

// checkOperationFactor requires session_cookie on an operation route that
// asks a second factor (step_up, a LoginID assertion): the factor is the
// guard session's user's, and only the portal's session cookie tells
// whether that guard session is the portal session's the operation acts
// on (portal_session.go). Without it, a stolen portal session beside the
// thief's own guard cookie would pass with the thief's own factor.
func (h *Handler) checkOperationFactor() error {
	if h.Event != EventOperation || h.SessionCookie != "" {
		return nil
	}
	if h.StepUp != "" {
		return refuseOption("step_up", "step_up on an event operation route needs session_cookie <the portal's session cookie> "+
			"(the same as on the login route): the step-up asks the guard session's user, who must be the portal session's")
	}
	if h.Assertion != "" && h.Assertion != "off" {
		return refuseOption("assertion", "assertion on an event operation route needs session_cookie <the portal's session cookie> "+
			"(the same as on the login route): the assertion must be the guard session's user's, who must be the portal session's")
	}
	return nil
}

// defaultName derives a stable name from what the route guards, so metrics
// and state keys survive reloads without the user naming every route.
func (h *Handler) defaultName() string {
	sum := sha256.Sum256([]byte(h.Event + "|" + h.UserField + "|" + strings.Join(h.AllowIP, ",") + "|" + strings.Join(h.DenyIP, ",")))
	return h.Event + "-" + hex.EncodeToString(sum[:4])
}

// Cleanup gives back what the option groups hold: only the local rules
// hold anything (their counter store and admin registration; the
// engines, the assertion verifier and the step-up state are the app's).
// Caddy calls it when the config is unloaded, and also when Provision
// failed half-way, so every part may be unset.
func (h *Handler) Cleanup() error {
	h.route.Cleanup()
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
