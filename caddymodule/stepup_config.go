package caddymodule

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
)

// Continuation modes.
const (
	ContinuationResume   = "resume"
	ContinuationResubmit = "resubmit"
)

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

// unmarshal reads the step-up subdirectives of a handler block:
//
//	step_up               <path | https URL>
//	step_up_hosts         <host[:port]...>
//	step_up_cookie_domain <domain>
//	continuation          resume|resubmit
//	ip_prefix             <v4 bits> [<v6 bits>]
//	methods               passkey|selfie|loginid...
//	page_template         <file>
//	enrol_done            <path>
//
// A step_up URL on another host must be listed in step_up_hosts, which
// therefore comes first: the target is checked on its own line.
func (o *StepUpOptions) unmarshal(d *caddyfile.Dispenser, key string) (bool, error) {
	var err error
	switch key {
	case "step_up":
		if err = oneArg(d, &o.StepUp); err == nil {
			if verr := stepup.ValidateTarget(o.StepUp, o.StepUpHosts); verr != nil {
				err = d.Errf("step_up: %v (a path on this site like /verify, or an https URL whose host is listed in step_up_hosts before step_up)", verr)
			}
		}
	case "step_up_hosts":
		o.StepUpHosts = d.RemainingArgs()
		if len(o.StepUpHosts) == 0 {
			return true, d.ArgErr()
		}
		for _, host := range o.StepUpHosts {
			if host == "" || strings.ContainsAny(host, "/\\@ \t") {
				return true, d.Errf("step_up_hosts: %q is not a host name", host)
			}
		}
	case "step_up_cookie_domain":
		err = oneArg(d, &o.StepUpCookieDomain)
	case "continuation":
		if err = oneArg(d, &o.Continuation); err == nil {
			err = oneOf(d, o.Continuation, ContinuationResume, ContinuationResubmit)
		}
	case "ip_prefix":
		args := d.RemainingArgs()
		if len(args) == 0 || len(args) > 2 {
			return true, d.Errf("ip_prefix takes the IPv4 prefix length and optionally the IPv6 one, e.g. ip_prefix 24 48")
		}
		if o.IPPrefixV4, err = prefixBits(args[0], 8, 32); err != nil {
			return true, d.Errf("ip_prefix: %v", err)
		}
		if len(args) == 2 {
			if o.IPPrefixV6, err = prefixBits(args[1], 16, 128); err != nil {
				return true, d.Errf("ip_prefix: %v", err)
			}
		}
	case "methods":
		o.Methods = d.RemainingArgs()
		if len(o.Methods) == 0 {
			return true, d.ArgErr()
		}
		for i, m := range o.Methods {
			if err := oneOf(d, m, stepUpMethods...); err != nil {
				return true, d.Errf("methods: %q is not one of %s", m, strings.Join(stepUpMethods, ", "))
			}
			if slices.Contains(o.Methods[:i], m) {
				return true, d.Errf("methods: %s given twice", m)
			}
		}
	case "page_template":
		if err = oneArg(d, &o.PageTemplate); err == nil {
			if _, perr := stepup.LoadPage(o.PageTemplate); perr != nil {
				err = d.Errf("page_template: %v", perr)
			}
		}
	case "enrol_done":
		if err = oneArg(d, &o.EnrolDone); err == nil {
			if verr := stepup.ValidateTarget(o.EnrolDone, nil); verr != nil {
				err = d.Errf("enrol_done: %v (want a path on this site)", verr)
			}
		}
	default:
		return false, nil
	}
	return true, err
}

func prefixBits(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q must be a prefix length from %d to %d", s, lo, hi)
	}
	return n, nil
}

// provisionStepUp checks the options against the route's event
// (JSON configs skip the Caddyfile checks) and loads the page template.
// It touches no storage: `caddy validate` runs it.
func (h *Handler) provisionStepUp() error {
	o := &h.StepUpOptions
	o.su = &routeStepUp{}
	if o.StepUp != "" {
		if h.Event == EventStepUp || h.Event == EventLogout {
			return fmt.Errorf("route %q: step_up is for login, operation and none routes, not %s", h.Name, h.Event)
		}
		if err := stepup.ValidateTarget(o.StepUp, o.StepUpHosts); err != nil {
			return fmt.Errorf("route %q: step_up: %v", h.Name, err)
		}
		if err := o.checkCookieDomain(); err != nil {
			return fmt.Errorf("route %q: %v", h.Name, err)
		}
	} else if o.StepUpCookieDomain != "" || len(o.StepUpHosts) > 0 || o.Continuation != "" {
		return fmt.Errorf("route %q: step_up_hosts, step_up_cookie_domain and continuation need step_up", h.Name)
	}
	if o.Continuation == "" {
		o.Continuation = ContinuationResume
	}
	if o.Continuation != ContinuationResume && o.Continuation != ContinuationResubmit {
		return fmt.Errorf("route %q: continuation must be resume or resubmit, not %q", h.Name, o.Continuation)
	}
	o.su.prefix = stepup.IPPrefix{V4Bits: o.IPPrefixV4, V6Bits: o.IPPrefixV6}
	if h.Event != EventStepUp {
		if len(o.Methods) > 0 || o.PageTemplate != "" || o.EnrolDone != "" {
			return fmt.Errorf("route %q: methods, page_template and enrol_done belong on an `event step_up` route", h.Name)
		}
		return nil
	}
	if len(o.Methods) == 0 {
		o.Methods = []string{MethodPasskey}
	}
	for i, m := range o.Methods {
		if !slices.Contains(stepUpMethods, m) {
			return fmt.Errorf("route %q: unknown step-up method %q (want passkey, selfie or loginid)", h.Name, m)
		}
		if slices.Contains(o.Methods[:i], m) {
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
	if o.EnrolDone == "" {
		o.EnrolDone = "/"
	}
	if err := stepup.ValidateTarget(o.EnrolDone, nil); err != nil {
		return fmt.Errorf("route %q: enrol_done: %v", h.Name, err)
	}
	// The theme's step-up page (internal/pages) unless the operator gave
	// their own page_template.
	if o.PageTemplate != "" {
		p, err := stepup.LoadPage(o.PageTemplate)
		if err != nil {
			return fmt.Errorf("route %q: %v", h.Name, err)
		}
		o.su.page = p
	}
	return nil
}

// checkCookieDomain requires a cookie domain exactly when the target is on
// another host, and one that covers that host.
func (o *StepUpOptions) checkCookieDomain() error {
	if strings.HasPrefix(o.StepUp, "/") {
		if o.StepUpCookieDomain != "" {
			return fmt.Errorf("step_up_cookie_domain is only for a step_up on another host; a same-site target uses a host-only cookie")
		}
		return nil
	}
	u, err := url.Parse(o.StepUp)
	if err != nil {
		return err
	}
	dom := strings.ToLower(strings.TrimPrefix(o.StepUpCookieDomain, "."))
	host := strings.ToLower(u.Hostname())
	if dom == "" {
		return fmt.Errorf("step_up on another host (%s) needs step_up_cookie_domain, a parent domain both hosts share, so that host can read the state cookie", host)
	}
	if host != dom && !strings.HasSuffix(host, "."+dom) {
		return fmt.Errorf("step_up_cookie_domain %q does not cover the step-up host %q", dom, host)
	}
	return nil
}

// PasskeysConfig is the relying party of the built-in passkey factor.
type PasskeysConfig struct {
	// RPID is the relying party id: the site's host or registrable domain.
	RPID string `json:"rp_id"`
	// RPOrigins are the origins passkeys are used from
	// ("https://example.com").
	RPOrigins []string `json:"rp_origins"`
	// RPName is shown by authenticators. Default: RPID.
	RPName string `json:"rp_name,omitempty"`
	// UserVerification is required, preferred (default) or discouraged.
	UserVerification string `json:"user_verification,omitempty"`
}

// unmarshal reads
//
//	passkeys {
//		rp_id             <id>
//		rp_origin         <origin...>
//		rp_name           <display name>
//		user_verification required|preferred|discouraged
//	}
func (p *PasskeysConfig) unmarshal(d *caddyfile.Dispenser) error {
	if err := eachOption(d, "passkeys", nil, func(key string) error {
		var err error
		switch key {
		case "rp_id":
			err = oneArg(d, &p.RPID)
		case "rp_origin":
			p.RPOrigins = d.RemainingArgs()
			if len(p.RPOrigins) == 0 {
				return d.ArgErr()
			}
			for _, o := range p.RPOrigins {
				if verr := checkOrigin(o); verr != nil {
					return d.Errf("passkeys: rp_origin: %v", verr)
				}
			}
		case "rp_name":
			err = oneArg(d, &p.RPName)
		case "user_verification":
			if err = oneArg(d, &p.UserVerification); err == nil {
				err = oneOf(d, p.UserVerification, "required", "preferred", "discouraged")
			}
		default:
			return d.Errf("passkeys: unknown option %q", key)
		}
		return err
	}); err != nil {
		return err
	}
	if p.RPID == "" || len(p.RPOrigins) == 0 {
		return d.Err("passkeys: rp_id and rp_origin are required")
	}
	return nil
}

// checkOrigin accepts scheme://host[:port] with nothing after it: the
// browser reports exactly that, so anything more never matches.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin like https://example.com", o)
	}
	return nil
}

func (p *PasskeysConfig) provision() error {
	if p.RPID == "" || len(p.RPOrigins) == 0 {
		return fmt.Errorf("passkeys: rp_id and rp_origins are required")
	}
	for i, o := range p.RPOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("passkeys: %v", err)
		}
		p.RPOrigins[i] = strings.TrimSuffix(o, "/")
	}
	if p.RPName == "" {
		p.RPName = p.RPID
	}
	if p.UserVerification == "" {
		p.UserVerification = "preferred"
	}
	// Build a relying party once, touching no storage, so a bad rp_id or
	// origin fails at config load rather than on the first user.
	if _, err := passkeys.New(p.config(&liveKeys{}, 0), &swappableStore{}); err != nil {
		return fmt.Errorf("passkeys: %v", err)
	}
	return nil
}

func (p *PasskeysConfig) config(keys *liveKeys, perClient int) passkeys.Config {
	return passkeys.Config{
		MaxCeremoniesPerClient: perClient,
		RPID:                   p.RPID,
		RPOrigins:              p.RPOrigins,
		RPDisplayName:          p.RPName,
		UserVerification:       p.UserVerification,
		UserKey:                func(user string) string { return keys.get().Pseudonym("passkey_user", user) },
		Tokens:                 keys,
	}
}
