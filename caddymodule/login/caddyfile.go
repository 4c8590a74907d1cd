package login

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/formbody"
	"github.com/login-guard/login_guard/internal/request"
)

func init() {
	httpcaddyfile.RegisterDirective("login_guard", parseDirective)
	// Before invoke and handle, not just before reverse_proxy: a named
	// route, a handle block (or handle_path, route, respond) ends the
	// request, so a guard sorted after it would never run on a site that
	// reaches its portal through one.
	httpcaddyfile.RegisterDirectiveOrder("login_guard", httpcaddyfile.Before, "invoke")
}

// parseDirective sets up a route handler from Caddyfile tokens. A block
// with `event step_up` is the step-up route, another module, whose parser
// reads it (see stepuproute); any other block is this handler:
//
//	login_guard [<matcher>] {
//		name           <name>
//		event          login|logout|operation|none|step_up
//		user_field     <field or dotted.json.path>
//		device_field   <field or dotted.json.path>
//		password_field <field...>     (JSON: password_fields)
//		max_body       <size>
//		unsupported_media_status <4xx>
//		error_pages    guard|handle_errors
//		channel        <id>
//		channel_kind   web|app
//		report         success|all
//		log_user       plain|hash|none
//		audit_line     own_line|access_log
//		session_cookie <app cookie name>
//		allow_ip       <cidr...>
//		deny_ip        <cidr...>
//		success {
//			status     <code|lo-hi...>
//			location   <prefix>
//			cookie     <name>
//			json       <dotted.path> <json value>
//			body_limit <size>
//		}
//		operation {
//			<schema.path> <value with placeholders>
//		}
//		upstream_headers <secret>
//	}
//
// plus the option groups' subdirectives — the local rules
// (request.RuleOptions), the engines (EngineOptions), the step-up target
// (StepUpOptions) and the assertion (LoginIDOptions), each parsed by its
// own unmarshal and checked by its own validate once the block is read
// (an option that does not fit the event is refused at its line);
// docs/configuration.md lists them all. The route's name defaults to the
// named matcher (`@login` gives "login"), or the event plus a counter.
// Every subdirective may appear once (allow_ip, deny_ip and the rule
// lines accumulate).
func parseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherName := ""
	if h.NextArg() && strings.HasPrefix(h.Val(), "@") {
		matcherName = strings.TrimPrefix(h.Val(), "@")
	}
	h.Reset()
	h.Next()
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	h.Next() // the directive name again, after the reset
	seg := h.NextSegment()
	d := caddyfile.NewDispenser(seg)
	d.Next()
	if isStepUpBlock(seg) {
		mod, err := caddyfile.UnmarshalModule(d, stepUpModuleID)
		if err != nil {
			return nil, err
		}
		mh, ok := mod.(caddyhttp.MiddlewareHandler)
		n, named := mod.(routeNamer)
		if !ok || !named {
			return nil, d.Errf("%s is not a login_guard route handler", stepUpModuleID)
		}
		if n.RouteName() == "" {
			n.SetRouteName(uniqueRouteName(h, matcherName, request.EventStepUp))
		}
		return h.NewRoute(matcherSet, mh), nil
	}
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	if handler.Name == "" {
		handler.Name = uniqueRouteName(h, matcherName, handler.Event)
	}
	return h.NewRoute(matcherSet, handler), nil
}

// routeNamer is a route handler module whose default name the directive
// gives (the step-up route's).
type routeNamer interface {
	RouteName() string
	SetRouteName(string)
}

// isStepUpBlock reports whether a login_guard block says `event step_up`.
func isStepUpBlock(seg caddyfile.Segment) bool {
	depth := 0
	for i, t := range seg {
		switch t.Text {
		case "{":
			depth++
		case "}":
			depth--
		case "event":
			if depth == 1 && i+1 < len(seg) && seg[i+1].Text == request.EventStepUp {
				return true
			}
		}
	}
	return false
}

// uniqueRouteName gives unnamed routes a readable, stable name that is
// unique within the Caddyfile.
func uniqueRouteName(h httpcaddyfile.Helper, matcher, event string) string {
	base := matcher
	if base == "" {
		base = event
	}
	if base == "" {
		base = "route"
	}
	used, _ := h.State["login_guard_names"].(map[string]int)
	if used == nil {
		used = map[string]int{}
		h.State["login_guard_names"] = used
	}
	used[base]++
	if used[base] == 1 {
		return base
	}
	return base + "-" + strconv.Itoa(used[base])
}

// UnmarshalCaddyfile reads the handler's block. The dispenser is positioned
// on the directive name; the matcher token, if any, was already removed.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	// Each option group reads its own subdirectives.
	groups := []func(*caddyfile.Dispenser, string) (bool, error){
		h.RuleOptions.UnmarshalDirective,
		h.EngineOptions.unmarshal,
		h.StepUpOptions.unmarshal,
		h.LoginIDOptions.unmarshal,
	}
	// Where each subdirective was read (its first line), to refuse it
	// there once the block is read: whether it fits depends on the event,
	// which may come last.
	// The rule lines repeat: each rule's line is kept by its index.
	seen := map[string]caddyopt.Place{}
	var ruleLines []caddyopt.Place
	for d.NextBlock(0) {
		key := d.Val()
		at := caddyopt.At(d)
		repeatable := key == "allow_ip" || key == "deny_ip" || request.IsRuleDirective(key)
		_, dup := seen[key]
		if dup && !repeatable {
			return d.Errf("%s given twice", key)
		}
		if !dup {
			seen[key] = at
		}
		var err error
		switch key {
		case "name":
			err = caddyopt.RouteNameArg(d, &h.Name)
		case "event":
			if err = caddyopt.OneArg(d, &h.Event); err == nil {
				err = caddyopt.OneOf(d, h.Event, EventLogin, EventLogout, EventOperation, EventNone, request.EventStepUp)
			}
			if err == nil && h.Event == request.EventStepUp {
				err = d.Errf("event step_up is the step-up route, the %s module", stepUpModuleID)
			}
		case "user_field":
			err = caddyopt.NonEmptyArg(d, &h.UserField)
		case "device_field":
			err = caddyopt.NonEmptyArg(d, &h.DeviceField)
		case "password_field":
			err = caddyopt.ListArgs(d, &h.PasswordFields)
		case "max_body":
			var s string
			if err = caddyopt.OneArg(d, &s); err == nil {
				var n uint64
				n, err = humanize.ParseBytes(s)
				if err != nil || n == 0 || n > uint64(formbody.MaxMaxBody) {
					err = d.Errf("max_body: invalid size %q (e.g. 64KiB, at most 1GiB)", s)
				}
				h.MaxBody = int64(n)
			}
		case "unsupported_media_status":
			h.UnsupportedMediaStatus, err = caddyopt.IntArg(d, 400, 499)
		case "channel":
			err = caddyopt.OneArg(d, &h.Channel)
			if err == nil && !strings.Contains(h.Channel, "{") {
				if _, perr := app.ParseChannel(h.Channel); perr != nil {
					err = d.Err(perr.Error())
				}
			}
		case "channel_kind":
			err = caddyopt.OneOfArg(d, &h.ChannelKind, "web", "app")
		case "report":
			err = caddyopt.OneOfArg(d, &h.Report, "success", "all")
		case "log_user":
			err = caddyopt.OneOfArg(d, &h.LogUser, "plain", "hash", "none")
		case "audit_line":
			err = caddyopt.OneOfArg(d, &h.AuditLine, request.AuditOwnLine, request.AuditAccessLog)
		case "session_cookie":
			err = caddyopt.CookieNameArg(d, &h.SessionCookie)
		case "error_pages":
			err = h.unmarshalErrorPages(d)
		case "upstream_headers":
			err = caddyopt.NonEmptyArg(d, &h.UpstreamHeaders)
			if err == nil && !strings.Contains(h.UpstreamHeaders, "{") && len(h.UpstreamHeaders) < minUpstreamSecret {
				err = d.Errf("upstream_headers secret must be at least %d characters (better: {env.NAME} holding 32 random bytes)", minUpstreamSecret)
			}
		case "missing_user":
			err = caddyopt.OneOfArg(d, &h.MissingUser, MissingUserDeny, MissingUserAllow, MissingUserMonitor)
		case "on_invalid_operation":
			err = caddyopt.OneOfArg(d, &h.OnInvalidOperation, OnInvalidOperationRefuse, OnInvalidOperationPass)
		case "allow_ip":
			err = caddyopt.AppendCIDRs(d, &h.AllowIP)
		case "deny_ip":
			err = caddyopt.AppendCIDRs(d, &h.DenyIP)
		case "success":
			h.Success = new(SuccessCriteria)
			err = h.Success.unmarshal(d)
		case "operation":
			h.Operation, err = unmarshalOperation(d)
		default:
			ok := false
			for _, g := range groups {
				if ok, err = g(d, key); ok || err != nil {
					break
				}
			}
			if err == nil && !ok {
				err = d.Errf("unknown subdirective %q", key)
			}
			for len(ruleLines) < len(h.RuleOptions.Rules) {
				ruleLines = append(ruleLines, at)
			}
		}
		if err != nil {
			return err
		}
	}
	if h.Event == "" {
		return d.Err("login_guard: event is required (login, logout, operation, none or step_up)")
	}
	for _, c := range []struct {
		option, need string
		given        bool
	}{
		{"operation", EventOperation, h.Operation != nil},
		{"missing_user", EventLogin, h.MissingUser != ""},
		{"success", EventLogin, h.Success != nil},
		{"report", EventLogin, h.Report != ""},
		{"on_invalid_operation", EventOperation, h.OnInvalidOperation != ""},
	} {
		if c.given && h.Event != c.need {
			what := c.option
			switch c.option {
			case "operation":
				what = "an operation block"
			case "success":
				what = "a success block"
			}
			return seen[c.option].Err(fmt.Errorf("login_guard: %s needs event %s, not %s", what, c.need, h.Event))
		}
	}
	// A field read as the user or device that is also a password field
	// would never be seen: refused at the password_field line (or the
	// field's), and a device field that is the user field at the
	// device_field line (or the user_field's), unless a name holds a
	// placeholder, known only at load.
	if !strings.Contains(h.UserField+h.DeviceField, "{") {
		spec := formbody.Spec{UserField: h.UserField, DeviceField: h.DeviceField, PasswordFields: h.PasswordFields}
		if err := spec.Validate(); err != nil {
			at, keys := seen["event"], []string{"device_field", "user_field", "password_field"}
			if strings.Contains(err.Error(), "is the user field") {
				keys = []string{"user_field", "device_field"}
			}
			for _, k := range keys {
				if p, ok := seen[k]; ok {
					at = p
				}
			}
			return at.Err(fmt.Errorf("login_guard: %v", err))
		}
	}
	// The option groups' own checks, at the line of the option refused.
	if i, err := h.RuleOptions.RuleMisfit(h.Event); err != nil && i < len(ruleLines) {
		return ruleLines[i].Err(fmt.Errorf("login_guard: %v", err))
	}
	if err := h.validateGroups(); err != nil {
		var oe *optionError
		at := seen["event"]
		if errors.As(err, &oe) {
			if p, ok := seen[oe.option]; ok {
				at = p
			}
		}
		return at.Err(err)
	}
	return nil
}

func (s *SuccessCriteria) unmarshal(d *caddyfile.Dispenser) error {
	if err := caddyopt.EachOption(d, "success", nil, func(key string) error {
		switch key {
		case "status":
			if err := caddyopt.ListArgs(d, &s.Status); err != nil {
				return err
			}
			for _, st := range s.Status {
				if _, _, err := parseStatusRange(st); err != nil {
					return d.Errf("success: %v", err)
				}
			}
		case "location":
			if err := caddyopt.NonEmptyArg(d, &s.Location); err != nil {
				return err
			}
		case "cookie":
			if err := caddyopt.CookieNameArg(d, &s.Cookie); err != nil {
				return err
			}
		case "json":
			if !d.Args(&s.JSONField, &s.JSONValue) || d.NextArg() {
				return d.Errf("success: json takes a dotted path and a JSON value, e.g. json ok true")
			}
		case "body_limit":
			var v string
			if err := caddyopt.OneArg(d, &v); err != nil {
				return err
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n == 0 || n > maxSuccessBodyLimit {
				return d.Errf("success: body_limit: invalid size %q (at most 1MiB)", v)
			}
			s.BodyLimit = int(n)
		default:
			return d.Errf("success: unknown criterion %q", key)
		}
		return nil
	}); err != nil {
		return err
	}
	probe := *s
	if err := probe.provision(); err != nil {
		return d.Errf("success: %v", err)
	}
	return nil
}

func unmarshalOperation(d *caddyfile.Dispenser) (map[string]string, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	m := map[string]string{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		path := d.Val()
		var v string
		if err := caddyopt.OneArg(d, &v); err != nil {
			return nil, err
		}
		if _, dup := m[path]; dup {
			return nil, d.Errf("operation: %s given twice", path)
		}
		m[path] = v
	}
	if _, err := compileOperationMapping(m); err != nil {
		return nil, d.Errf("operation: %v", err)
	}
	return m, nil
}
