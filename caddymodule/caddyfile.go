package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("login_guard", parseGlobalOption)
	httpcaddyfile.RegisterDirective("login_guard", parseDirective)
	httpcaddyfile.RegisterDirectiveOrder("login_guard", httpcaddyfile.Before, "reverse_proxy")
}

// parseDirective sets up a handler from Caddyfile tokens:
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
// plus the rule subdirectives (unmarshalRuleDirective), the engine ones
// (unmarshalEngineDirective), the step-up ones (unmarshalStepUpDirective)
// and the assertion ones (unmarshalLoginIDDirective); docs/configuration.md
// lists them all. The route's name defaults to the named matcher (`@login` gives "login"),
// or the event plus a counter. Every subdirective may appear once (allow_ip
// and deny_ip accumulate).
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
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	if handler.Name == "" {
		handler.Name = uniqueRouteName(h, matcherName, handler.Event)
	}
	return h.NewRoute(matcherSet, handler), nil
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
	seen := map[string]bool{}
	for d.NextBlock(0) {
		key := d.Val()
		if seen[key] && !repeatable(key) {
			return d.Errf("%s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "name":
			err = oneArg(d, &h.Name)
		case "event":
			if err = oneArg(d, &h.Event); err == nil {
				err = oneOf(d, h.Event, EventLogin, EventLogout, EventOperation, EventNone, EventStepUp)
			}
		case "user_field":
			err = oneArg(d, &h.UserField)
		case "device_field":
			err = oneArg(d, &h.DeviceField)
		case "password_field":
			h.PasswordFields = d.RemainingArgs()
			if len(h.PasswordFields) == 0 {
				err = d.ArgErr()
			}
		case "max_body":
			var s string
			if err = oneArg(d, &s); err == nil {
				var n uint64
				n, err = humanize.ParseBytes(s)
				if err != nil || n == 0 || n > 1<<30 {
					err = d.Errf("max_body: invalid size %q (e.g. 64KiB, at most 1GiB)", s)
				}
				h.MaxBody = int64(n)
			}
		case "unsupported_media_status":
			h.UnsupportedMediaStatus, err = intArg(d, 400, 499)
		case "channel":
			err = oneArg(d, &h.Channel)
			if err == nil && !strings.Contains(h.Channel, "{") {
				if _, perr := parseChannel(h.Channel); perr != nil {
					err = d.Err(perr.Error())
				}
			}
		case "channel_kind":
			if err = oneArg(d, &h.ChannelKind); err == nil {
				err = oneOf(d, h.ChannelKind, "web", "app")
			}
		case "report":
			if err = oneArg(d, &h.Report); err == nil {
				err = oneOf(d, h.Report, "success", "all")
			}
		case "log_user":
			if err = oneArg(d, &h.LogUser); err == nil {
				err = oneOf(d, h.LogUser, "plain", "hash", "none")
			}
		case "session_cookie":
			err = oneArg(d, &h.SessionCookie)
		case "error_pages":
			err = h.unmarshalErrorPages(d)
		case "upstream_headers":
			err = oneArg(d, &h.UpstreamHeaders)
		case "missing_user":
			if err = oneArg(d, &h.MissingUser); err == nil {
				err = oneOf(d, h.MissingUser, MissingUserDeny, MissingUserAllow, MissingUserMonitor)
			}
		case "on_invalid_operation":
			if err = oneArg(d, &h.OnInvalidOperation); err == nil {
				err = oneOf(d, h.OnInvalidOperation, OnInvalidOperationRefuse, OnInvalidOperationPass)
			}
		case "allow_ip", "deny_ip":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			if err = checkCIDRs(d, args); err == nil {
				if key == "allow_ip" {
					h.AllowIP = append(h.AllowIP, args...)
				} else {
					h.DenyIP = append(h.DenyIP, args...)
				}
			}
		case "success":
			h.Success = new(SuccessCriteria)
			err = h.Success.unmarshal(d)
		case "operation":
			h.Operation, err = unmarshalOperation(d)
		default:
			ok, err := h.unmarshalRuleDirective(d, key)
			if !ok && err == nil {
				ok, err = h.unmarshalEngineDirective(d, key)
			}
			if !ok && err == nil {
				ok, err = h.unmarshalStepUpDirective(d, key)
			}
			if !ok && err == nil {
				ok, err = h.unmarshalLoginIDDirective(d, key)
			}
			if err != nil {
				return err
			}
			if !ok {
				return d.Errf("unknown subdirective %q", key)
			}
		}
		if err != nil {
			return err
		}
	}
	if h.Event == "" {
		return d.Err("login_guard: event is required (login, logout, operation, none or step_up)")
	}
	if h.Operation != nil && h.Event != EventOperation {
		return d.Errf("login_guard: an operation block needs event operation, not %s", h.Event)
	}
	if h.MissingUser != "" && h.Event != EventLogin {
		return d.Errf("login_guard: missing_user needs event login, not %s", h.Event)
	}
	if h.OnInvalidOperation != "" && h.Event != EventOperation {
		return d.Errf("login_guard: on_invalid_operation needs event operation, not %s", h.Event)
	}
	return nil
}

func (s *SuccessCriteria) unmarshal(d *caddyfile.Dispenser) error {
	if err := eachOption(d, "success", nil, func(key string) error {
		switch key {
		case "status":
			s.Status = d.RemainingArgs()
			if len(s.Status) == 0 {
				return d.ArgErr()
			}
			for _, st := range s.Status {
				if _, _, err := parseStatusRange(st); err != nil {
					return d.Errf("success: %v", err)
				}
			}
		case "location":
			if err := oneArg(d, &s.Location); err != nil {
				return err
			}
		case "cookie":
			if err := oneArg(d, &s.Cookie); err != nil {
				return err
			}
		case "json":
			if !d.Args(&s.JSONField, &s.JSONValue) || d.NextArg() {
				return d.Errf("success: json takes a dotted path and a JSON value, e.g. json ok true")
			}
		case "body_limit":
			var v string
			if err := oneArg(d, &v); err != nil {
				return err
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n == 0 || n > 1<<20 {
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
		if err := oneArg(d, &v); err != nil {
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

// parseGlobalOption sets up the app from the global options block:
//
//	login_guard {
//		smartid {
//			endpoint    <url>
//			license     <key>
//			channel     <id>
//			environment production|dev
//			timeout     <duration>
//			queue_size  <n>
//			workers     <n>
//			retries     <n>
//			drain       <duration>
//		}
//		session {
//			ttl          <duration>
//			key_rotation <duration>
//			key_grace    <duration>
//			max_revocations <n>
//		}
//		start_wait <duration>
//		pages { ... }
//		loginid { ... }
//		rules_store { max_keys <n> }
//		breaker { failures <n>; cool_down <duration> }
//		passkeys { ... }
//		smileid { ... }
//		<engine> [<name>] { ... }      (forter, http, sandbox: login_guard.engines.*)
//	}
//
// docs/configuration.md lists every option.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		return nil, d.Err("login_guard global option given twice")
	}
	d.Next()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		key := d.Val()
		// Engines such as `http <name>` may be configured several times;
		// their names must differ, which Provision checks.
		if seen[key] && (key == "smartid" || key == "session" || key == "breaker" || key == "loginid" || key == "start_wait" || key == "pages") {
			return nil, d.Errf("%s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "smartid":
			app.SmartID = new(SmartIDConfig)
			err = app.SmartID.unmarshal(d)
		case "session":
			app.Session = new(SessionConfig)
			err = app.Session.unmarshal(d)
		case "loginid":
			app.LoginID = new(LoginIDConfig)
			err = app.LoginID.unmarshal(d)
		case "start_wait":
			app.StartWait = new(caddy.Duration)
			err = boundedDurationArg(d, app.StartWait, 0, maxStartWait)
		case "pages":
			err = app.unmarshalPages(d)
		default:
			ok, err := app.unmarshalEngineOption(d, key)
			if !ok && err == nil {
				ok, err = app.unmarshalStepUpOption(d, key)
			}
			if !ok && err == nil {
				ok, err = app.unmarshalRulesOption(d, key)
			}
			if !ok && err == nil {
				ok, err = app.unmarshalStoreOption(d, key)
			}
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, d.Errf("unknown login_guard option %q", key)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return httpcaddyfile.App{Name: "login_guard", Value: caddyconfig.JSON(app, nil)}, nil
}

func (s *SessionConfig) unmarshal(d *caddyfile.Dispenser) error {
	return eachOption(d, "session", nil, func(key string) error {
		var err error
		switch key {
		case "ttl":
			err = durationArg(d, &s.TTL)
		case "key_rotation":
			err = durationArg(d, &s.KeyRotation)
		case "key_grace":
			err = durationArg(d, &s.KeyGrace)
		case "max_revocations":
			s.MaxRevocations, err = intArg(d, minRevocations, maxRevocations)
		default:
			return d.Errf("session: unknown option %q", key)
		}
		return err
	})
}
