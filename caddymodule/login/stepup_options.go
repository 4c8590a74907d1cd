package login

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
)

// Continuation modes.
const (
	ContinuationResume   = "resume"
	ContinuationResubmit = "resubmit"
)

// StepUpOptions say where a challenged request of this route goes and how
// the login finishes after the factor. The step-up route itself is its
// own module (stepuproute).
type StepUpOptions struct {
	// StepUp is where a challenged request is sent: a same-origin path
	// ("/verify") or an https URL on a host listed in StepUpHosts. Without
	// it a challenge is a plain 401.
	StepUp string `json:"step_up,omitempty"`
	// StepUpHosts are the other hosts StepUp may point at (exact names,
	// optionally with a port).
	StepUpHosts []string `json:"step_up_hosts,omitempty"`
	// StepUpCookieDomain is the Domain of the state cookie when StepUp is
	// on another host: that host must be able to read it. Required then,
	// refused otherwise (a host-only cookie is safer).
	StepUpCookieDomain string `json:"step_up_cookie_domain,omitempty"`
	// Continuation is resume (default: the held login is replayed after
	// the factor) or resubmit (the user submits the form again, once,
	// without a challenge).
	Continuation string `json:"continuation,omitempty"`
	// IPPrefixV4 and IPPrefixV6 bind the state to the client's address
	// prefix (defaults 32 and 64); shorter prefixes tolerate mobile
	// networks that move a client between addresses.
	IPPrefixV4 int `json:"ip_prefix_v4,omitempty"`
	IPPrefixV6 int `json:"ip_prefix_v6,omitempty"`

	// states issues the route's step-up states (and, on the continuation,
	// takes them back).
	states *request.StepUp
	// place is where StepUp's step-up route is (stepUpPath), worked out
	// once.
	place string
}

// unmarshal reads the step-up subdirectives of a login route's block:
//
//	step_up               <path | https URL>
//	step_up_hosts         <host[:port]...>
//	step_up_cookie_domain <domain>
//	continuation          resume|resubmit
//	ip_prefix             <v4 bits> [<v6 bits>]
//
// A step_up URL on another host must be listed in step_up_hosts, which
// therefore comes first: the target is checked on its own line.
func (o *StepUpOptions) unmarshal(d *caddyfile.Dispenser, key string) (bool, error) {
	var err error
	switch key {
	case "step_up":
		if err = caddyopt.OneArg(d, &o.StepUp); err == nil {
			if verr := stepup.ValidateTarget(o.StepUp, o.StepUpHosts); verr != nil {
				err = d.Errf("step_up: %v (a path on this site like /verify, or an https URL whose host is listed in step_up_hosts before step_up)", verr)
			}
		}
	case "step_up_hosts":
		if err := caddyopt.ListArgs(d, &o.StepUpHosts); err != nil {
			return true, err
		}
		for _, host := range o.StepUpHosts {
			if host == "" || strings.ContainsAny(host, "/\\@ \t") {
				return true, d.Errf("step_up_hosts: %q is not a host name", host)
			}
		}
	case "step_up_cookie_domain":
		err = caddyopt.NonEmptyArg(d, &o.StepUpCookieDomain)
	case "continuation":
		err = caddyopt.OneOfArg(d, &o.Continuation, ContinuationResume, ContinuationResubmit)
	case "ip_prefix":
		o.IPPrefixV4, o.IPPrefixV6, err = request.ParseIPPrefix(d)
	case "methods", "page_template", "enrol_done":
		return true, d.Errf("%s belongs on the step-up route (a login_guard block with event step_up)", key)
	default:
		return false, nil
	}
	return true, err
}

// provision sets the defaults and makes the route's step-up machinery
// (built on first use from the app's pooled state, which the app gives
// back: the group holds nothing to release). It touches no storage:
// `caddy validate` runs it.
func (o *StepUpOptions) provision() {
	if o.StepUp != "" && o.Continuation == "" {
		o.Continuation = ContinuationResume
	}
	o.states = &request.StepUp{Prefix: stepup.IPPrefix{V4Bits: o.IPPrefixV4, V6Bits: o.IPPrefixV6}}
	o.place = o.stepUpPath()
}

// validate checks the options' values (a JSON config skips the
// Caddyfile's checks) and refuses what does not fit a route with this
// event. It needs no app, so the Caddyfile parser runs it too.
func (o *StepUpOptions) validate(event string) error {
	if o.StepUp == "" {
		for _, set := range []struct {
			option string
			given  bool
		}{{"step_up_hosts", len(o.StepUpHosts) > 0}, {"step_up_cookie_domain", o.StepUpCookieDomain != ""}, {"continuation", o.Continuation != ""},
			{"ip_prefix", o.IPPrefixV4 != 0 || o.IPPrefixV6 != 0}} {
			if set.given {
				return refuseOption(set.option, "%s needs step_up", set.option)
			}
		}
	} else {
		if event == EventLogout {
			return refuseOption("step_up", "step_up is for login, operation and none routes, not %s", event)
		}
		for i, host := range o.StepUpHosts {
			if slices.ContainsFunc(o.StepUpHosts[:i], func(h string) bool { return strings.EqualFold(h, host) }) {
				return refuseOption("step_up_hosts", "step_up_hosts: %q given twice", host)
			}
		}
		if err := stepup.ValidateTarget(o.StepUp, o.StepUpHosts); err != nil {
			return refuseOption("step_up", "step_up: %v", err)
		}
		if err := o.checkCookieDomain(); err != nil {
			return err
		}
	}
	switch o.Continuation {
	case "", ContinuationResume, ContinuationResubmit:
	default:
		return refuseOption("continuation", "continuation must be resume or resubmit, not %q", o.Continuation)
	}
	if err := (stepup.IPPrefix{V4Bits: o.IPPrefixV4, V6Bits: o.IPPrefixV6}).Validate(); err != nil {
		return refuseOption("ip_prefix", "ip_prefix: %v", err)
	}
	return nil
}

// checkCookieDomain requires a cookie domain exactly when the target is on
// another host, and one that covers that host.
func (o *StepUpOptions) checkCookieDomain() error {
	if strings.HasPrefix(o.StepUp, "/") {
		if o.StepUpCookieDomain != "" {
			return refuseOption("step_up_cookie_domain", "step_up_cookie_domain is only for a step_up on another host; a same-site target uses a host-only cookie")
		}
		return nil
	}
	u, err := url.Parse(o.StepUp)
	if err != nil {
		return refuseOption("step_up", "step_up: %v", err)
	}
	dom := strings.ToLower(strings.TrimPrefix(o.StepUpCookieDomain, "."))
	host := strings.ToLower(u.Hostname())
	if dom == "" {
		return refuseOption("step_up", "step_up on another host (%s) needs step_up_cookie_domain, a parent domain both hosts share, so that host can read the state cookie", host)
	}
	if host != dom && !strings.HasSuffix(host, "."+dom) {
		return refuseOption("step_up_cookie_domain", "step_up_cookie_domain %q does not cover the step-up host %q", dom, host)
	}
	return nil
}

// stepUpPath is where the step_up target's step-up route is (see
// stepup.Binding.StepUp): its path without a query or a trailing slash,
// after its host when it is on another host.
func (o *StepUpOptions) stepUpPath() string {
	u, err := url.Parse(o.StepUp)
	if err != nil {
		return ""
	}
	return stepup.StepUpPlace(u.Host, u.Path)
}

// Where account_id may take the portal's account id from: never from the
// client, or Forter would judge the login as another account's, and with
// smileid user_id account_id the selfie would be compared with the face
// of an account the client chose. An allow-list, as Caddy's request
// placeholders are too many, in too many spellings, to deny: static text
// and a response header of the portal's (set by the route's reverse_proxy
// once the upstream answered, evaluate after_upstream, or by a forward_auth
// before the guard), the user an authentication handler before the guard
// vouched for, the environment.
const (
	accountFromPortal = "http.reverse_proxy.header."
	accountFromAuth   = "http.auth.user."
	accountSources    = "an account id may only come from {http.reverse_proxy.header.<Name>} (the portal's answer, with evaluate after_upstream, or forward_auth's before the guard), {http.auth.user.id} or another {http.auth.user.*} (an authentication handler before the guard), {env.<NAME>} and static text"
)

var (
	accountPlaceholder = regexp.MustCompile(`\{([^{}]*)\}`)
	accountAllowed     = regexp.MustCompile(`^(http\.reverse_proxy\.header|http\.auth\.user|env)\.[A-Za-z0-9._-]+$`)
	// requestKey names the placeholders the request fills in, the
	// Caddyfile's shorthands too (a JSON config does not expand them), to
	// say so in the refusal.
	requestKey = regexp.MustCompile(`^(http\.(request|regexp|vars|matchers|error|intercept)|login_guard\.field|header|cookie|query|path|labels|re|vars)\.`)
)

// accountKeys returns the keys of account_id's placeholders, or refuses
// it (refuseOption) when one is not in the allow-list or when Caddy's
// replacer could read it otherwise than this check: a backslash (an
// escaped brace), a brace that opens or closes no placeholder. The
// option groups' checks run it (validateGroups), so the Caddyfile parser
// names account_id's line and a JSON config the route.
func accountKeys(account string) ([]string, error) {
	if strings.Contains(account, `\`) || strings.ContainsAny(accountPlaceholder.ReplaceAllString(account, ""), "{}") {
		return nil, refuseOption("account_id", "account_id %q: a backslash, or a brace that opens or closes no placeholder, is not taken; %s", account, accountSources)
	}
	var keys []string
	for _, m := range accountPlaceholder.FindAllStringSubmatch(account, -1) {
		key, why := m[1], "is not a source the portal vouches for"
		header, portal := strings.CutPrefix(key, accountFromPortal)
		switch canon := http.CanonicalHeaderKey(header); {
		case portal && canon != header: // reverse_proxy sets only the canonical name
			why = "is never set: reverse_proxy names a response header's placeholder by its canonical form, {" + accountFromPortal + canon + "}"
		case accountAllowed.MatchString(key):
			keys = append(keys, key)
			continue
		case requestKey.MatchString(key):
			why = "comes from the request, so the client would choose the account (a header forward_auth copies is its {http.reverse_proxy.header.<Name>} too)"
		}
		return nil, refuseOption("account_id", "account_id %q: the placeholder {%s} %s; %s", account, key, why, accountSources)
	}
	return keys, nil
}

// checkSelfieAccount refuses, on a route sending to step-up while Smile ID
// compares selfies with the face enrolled under the account id (smileid
// user_id account_id), an account_id the same for every user (static
// text, {env.*}): every user's selfie would be compared with one face. One
// the client writes is refused on every route (accountKeys). It needs the
// app's smileid block, so it runs when the route is provisioned.
func (h *Handler) checkSelfieAccount() error {
	if sm := h.app.SmileID; h.StepUp == "" || sm == nil || sm.UserID != smileidpool.UserAccountID || h.AccountID == "" {
		return nil
	}
	keys, err := accountKeys(h.AccountID)
	portal := slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, accountFromPortal) })
	if err == nil && !portal && !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, accountFromAuth) }) {
		err = refuseOption("account_id", "account_id %q is the same for every user, and smileid user_id account_id compares a selfie with the face enrolled under it, so every user's selfie would be compared with one face: take it from the portal's answer ({http.reverse_proxy.header.<Name>} with evaluate after_upstream) or from {http.auth.user.id}", h.AccountID)
	}
	if err != nil {
		return fmt.Errorf("route %q: %w", h.Name, err)
	}
	if portal && h.Evaluate != EvaluateAfter {
		h.logger.Warn("account_id is a response header read before the upstream (no engines, or evaluate before_upstream): only a forward_auth before the guard sets it then; unset, it is no account id, and smileid, which compares selfies with the face enrolled under it, offers no selfie",
			zap.String("route", h.Name), zap.String("account_id", h.AccountID))
	}
	return nil
}
