// Package stepuproute is the step-up route, the
// `http.handlers.login_guard_step_up` module: the page a challenged login
// is sent to and its endpoints (passkey, selfie, LoginID, completion,
// enrolment). In a Caddyfile it is written as a `login_guard` block with
// `event step_up`, which the login route's directive hands to this
// module's parser.
package stepuproute

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// ModuleID is the step-up route's module id.
const ModuleID = "http.handlers.login_guard_step_up"

// Step-up methods.
const (
	// MethodPasskey is the built-in passkey factor.
	MethodPasskey = "passkey"
	// MethodSelfie is Smile ID SmartSelfie Authentication.
	MethodSelfie = "selfie"
	// MethodLoginID is a LoginID DirectWeb FIDO2 JWT.
	MethodLoginID = "loginid"
)

var stepUpMethods = []string{MethodPasskey, MethodSelfie, MethodLoginID}

// Handler serves the step-up route. It has only the step-up route's
// fields: its page, its factors, the client binding of its states, and
// the parts every route has (name, audit user, IP lists, local rules).
type Handler struct {
	// Name identifies the route in state keys, metrics and the audit line.
	Name string `json:"name,omitempty"`
	// Methods are the factors the page offers: passkey (default), selfie
	// (Smile ID SmartSelfie) and loginid (a LoginID DirectWeb FIDO2 JWT).
	Methods []string `json:"methods,omitempty"`
	// PageTemplate is a file holding an html/template for the step-up
	// page (see internal/stepup.PageData for its fields).
	PageTemplate string `json:"page_template,omitempty"`
	// EnrolDone is where the enrolment page sends the browser after a
	// passkey was registered. Default "/".
	EnrolDone string `json:"enrol_done,omitempty"`
	// IPPrefixV4 and IPPrefixV6 are the address prefixes a state is bound
	// to (defaults 32 and 64); they must match the login route's.
	IPPrefixV4 int `json:"ip_prefix_v4,omitempty"`
	IPPrefixV6 int `json:"ip_prefix_v6,omitempty"`
	// LogUser is plain (default), hash or none.
	LogUser string `json:"log_user,omitempty"`
	// ErrorPages is guard (default: the guard writes its page) or
	// handle_errors (the site's handle_errors renders the refusal).
	ErrorPages string `json:"error_pages,omitempty"`
	// AllowIP skips the rules for these ranges; DenyIP refuses them.
	AllowIP []string `json:"allow_ip,omitempty"`
	DenyIP  []string `json:"deny_ip,omitempty"`
	// RuleOptions limit the route's pages and endpoints per client (rate,
	// spray, spread and when rules; no lockout, no device rule).
	request.RuleOptions

	app    *app.App
	logger *zap.Logger
	route  *request.Route
	stepUp *request.StepUp
	page   *stepup.Page
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  ModuleID,
		New: func() caddy.Module { return new(Handler) },
	}
}

// GuardRouteName is the route's name, for the app's check that every
// guard route can be reached (caddymodule/routecheck).
func (h *Handler) GuardRouteName() string { return h.Name }

// ServesStepUp marks the step-up route for the app's check that every
// step_up target is served (caddymodule/routecheck).
func (*Handler) ServesStepUp() bool { return true }

// Provision checks the route's fields, loads the page template and
// compiles the rules. It touches no storage: `caddy validate` runs it.
func (h *Handler) Provision(ctx caddy.Context) error {
	v, err := ctx.App("login_guard")
	if err != nil {
		return fmt.Errorf("loading login_guard app: %v", err)
	}
	h.app, h.logger = v.(*app.App), ctx.Logger()
	res := caddyopt.NewResolver()
	if h.Name = res.Value("name", h.Name); res.Err != nil {
		return res.Err
	}
	if h.Name == "" {
		h.Name = h.defaultName()
	}
	if err := caddyopt.CheckRouteName(h.Name); err != nil {
		return err
	}
	if h.LogUser == "" {
		h.LogUser = "plain"
	}
	if h.ErrorPages == "" {
		h.ErrorPages = request.ErrorPagesGuard
	}
	h.route = &request.Route{Name: h.Name, NameValue: h.Name, Event: request.EventStepUp, LogUser: h.LogUser,
		ErrorPages: h.ErrorPages, App: h.app, Logger: h.logger, XFFWarn: h.app.UntrustedProxyWarning()}
	if err = h.route.SetIPLists(res, h.AllowIP, h.DenyIP); err != nil {
		return err
	}
	if len(h.Methods) == 0 {
		h.Methods = []string{MethodPasskey}
	}
	for i, m := range h.Methods {
		if !slices.Contains(stepUpMethods, m) {
			return fmt.Errorf("route %q: unknown step-up method %q (want passkey, selfie or loginid)", h.Name, m)
		}
		if slices.Contains(h.Methods[:i], m) {
			return fmt.Errorf("route %q: step-up method %s listed twice", h.Name, m)
		}
		switch {
		case m == MethodPasskey && h.app.Passkeys == nil:
			return fmt.Errorf("route %q: methods passkey needs a `passkeys { rp_id …; rp_origin … }` block in the global login_guard options", h.Name)
		case m == MethodSelfie && h.app.SmileID == nil:
			return fmt.Errorf("route %q: methods selfie needs a `smileid { partner_id …; api_key …; callback_url … }` block in the global login_guard options", h.Name)
		case m == MethodLoginID && h.app.LoginID == nil:
			return fmt.Errorf("route %q: methods loginid needs a `loginid { … }` block in the global login_guard options", h.Name)
		}
	}
	if h.EnrolDone == "" {
		h.EnrolDone = "/"
	}
	if err := stepup.ValidateTarget(h.EnrolDone, nil); err != nil {
		return fmt.Errorf("route %q: enrol_done: %v", h.Name, err)
	}
	// The theme's step-up page (internal/pages) unless the operator gave
	// their own page_template.
	if h.PageTemplate != "" {
		p, err := stepup.LoadPage(h.PageTemplate)
		if err != nil {
			return fmt.Errorf("route %q: %v", h.Name, err)
		}
		h.page = p
	}
	h.stepUp = &request.StepUp{Prefix: stepup.IPPrefix{V4Bits: h.IPPrefixV4, V6Bits: h.IPPrefixV6}}
	return h.RuleOptions.Provision(h.route)
}

// Validate checks fields against each other.
func (h *Handler) Validate() error {
	switch h.LogUser {
	case "plain", "hash", "none":
	default:
		return fmt.Errorf("route %q: log_user must be plain, hash or none, not %q", h.Name, h.LogUser)
	}
	if h.ErrorPages != request.ErrorPagesGuard && h.ErrorPages != request.ErrorPagesHandleErrors {
		return fmt.Errorf("route %q: error_pages must be guard or handle_errors, not %q", h.Name, h.ErrorPages)
	}
	// A JSON config skips the Caddyfile's checks; the issuer would
	// refuse bad prefixes only when the first state is opened.
	if err := h.stepUp.Prefix.Validate(); err != nil {
		return fmt.Errorf("route %q: ip_prefix: %v", h.Name, err)
	}
	if h.RuleOptions.LockoutHold != 0 {
		return fmt.Errorf("route %q: lockout_hold is for lockouts, which count failed logins: not on the step-up route", h.Name)
	}
	return nil
}

// Cleanup releases the route's rules. Caddy calls it also after a failed
// Provision, so every part may be unset.
func (h *Handler) Cleanup() error {
	h.route.Cleanup()
	return nil
}

// ServeHTTP waits for the app's start (bounded: else 503 before anything
// is read), strips the guard's headers and serves the route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if err := h.app.Enter(w, r); err != nil {
		return err
	}
	defer h.app.Leave()
	request.StripGuardHeaders(r.Header)
	request.WarnUntrustedForwarding(h.route, r)
	return h.serve(w, r)
}

// RouteName and SetRouteName let the login_guard directive give an
// unnamed route the name it would give any route.
func (h *Handler) RouteName() string { return h.Name }

// SetRouteName names the route.
func (h *Handler) SetRouteName(name string) { h.Name = name }

// defaultName derives a stable name from what the route guards, the way
// the login route's handler does for its events.
func (h *Handler) defaultName() string {
	sum := sha256.Sum256([]byte(request.EventStepUp + "||" + strings.Join(h.AllowIP, ",") + "|" + strings.Join(h.DenyIP, ",")))
	return request.EventStepUp + "-" + hex.EncodeToString(sum[:4])
}

// UnmarshalCaddyfile reads the step-up route's block:
//
//	login_guard [<matcher>] {
//		event         step_up
//		name          <name>
//		methods       passkey|selfie|loginid...
//		page_template <file>
//		enrol_done    <path>
//		ip_prefix     <v4 bits> [<v6 bits>]
//		log_user      plain|hash|none
//		error_pages   guard|handle_errors
//		allow_ip      <cidr...>
//		deny_ip       <cidr...>
//		rate|spray|spread|when ...   local rules (see the rules reference)
//		on_full       allow|challenge|deny
//		ipv4_prefix   <1-32>
//		ipv6_prefix   <1-128>
//		case_sensitive_users
//	}
//
// What belongs to the login route (engines, assertion, success, step_up,
// a lockout or device rule...) is refused with its line.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	repeatable := func(key string) bool {
		return key == "allow_ip" || key == "deny_ip" || request.IsRuleDirective(key)
	}
	// Where each option was read, to refuse one that needs a rule the
	// block may give later at its own line.
	places := map[string]caddyopt.Place{}
	err := caddyopt.EachOption(d, "login_guard", repeatable, func(key string) error {
		places[key] = caddyopt.At(d)
		var err error
		switch key {
		case "event":
			var ev string
			if err = caddyopt.OneArg(d, &ev); err == nil && ev != request.EventStepUp {
				err = d.Errf("the step-up route's event is step_up, not %q", ev)
			}
		case "name":
			err = caddyopt.RouteNameArg(d, &h.Name)
		case "methods":
			h.Methods = d.RemainingArgs()
			if len(h.Methods) == 0 {
				return d.ArgErr()
			}
			for i, m := range h.Methods {
				if !slices.Contains(stepUpMethods, m) {
					return d.Errf("methods: %q is not one of %s", m, strings.Join(stepUpMethods, ", "))
				}
				if slices.Contains(h.Methods[:i], m) {
					return d.Errf("methods: %s given twice", m)
				}
			}
		case "page_template":
			if err = caddyopt.NonEmptyArg(d, &h.PageTemplate); err == nil {
				if _, perr := stepup.LoadPage(h.PageTemplate); perr != nil {
					err = d.Errf("page_template: %v", perr)
				}
			}
		case "enrol_done":
			if err = caddyopt.OneArg(d, &h.EnrolDone); err == nil {
				if verr := stepup.ValidateTarget(h.EnrolDone, nil); verr != nil {
					err = d.Errf("enrol_done: %v (want a path on this site)", verr)
				}
			}
		case "ip_prefix":
			h.IPPrefixV4, h.IPPrefixV6, err = request.ParseIPPrefix(d)
		case "error_pages":
			if err = caddyopt.OneArg(d, &h.ErrorPages); err == nil {
				err = caddyopt.OneOf(d, h.ErrorPages, request.ErrorPagesGuard, request.ErrorPagesHandleErrors)
			}
		case "log_user":
			if err = caddyopt.OneArg(d, &h.LogUser); err == nil {
				err = caddyopt.OneOf(d, h.LogUser, "plain", "hash", "none")
			}
		case "allow_ip":
			err = caddyopt.AppendCIDRs(d, &h.AllowIP)
		case "deny_ip":
			err = caddyopt.AppendCIDRs(d, &h.DenyIP)
		case "lockout", "device", "lockout_hold":
			return d.Errf("unknown subdirective %q on the step-up route (event step_up): it carries no login outcome and no SmartID payload", key)
		default:
			ok, rerr := h.RuleOptions.UnmarshalDirective(d, key)
			if rerr != nil {
				return rerr
			}
			if !ok {
				return d.Errf("unknown subdirective %q on the step-up route (event step_up): a login route option, or none", key)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if option, err := h.RuleOptions.Unused(); err != nil {
		return places[option].Err(fmt.Errorf("login_guard: %v", err))
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
