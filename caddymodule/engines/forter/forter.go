// Package forter is the `login_guard.engines.forter` module: Forter's
// Account Login API (clients/forter speaks the wire format of the seed).
// Forter asks to see only logins whose password was right, so routes that
// ask it must say `evaluate after_upstream` (or, knowingly,
// `evaluate before_upstream`).
package forter

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/engines"
	client "github.com/login-guard/login_guard/clients/forter"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
)

func init() {
	caddy.RegisterModule(Forter{})
}

// Forter configures the Forter engine.
type Forter struct {
	// Name defaults to "forter".
	Name string `json:"name,omitempty"`
	// SiteID and APIKey come from the Forter portal. Give the key as
	// {env.FORTER_API_KEY}: a {$VAR} is substituted when the Caddyfile is
	// read and would land in the adapted JSON and in autosave.json.
	SiteID string `json:"site_id"`
	APIKey string `json:"api_key"`
	// Endpoint defaults to https://<site_id>.api.forter-secure.com.
	Endpoint string `json:"endpoint,omitempty"`
	// APIVersion is the api-version header. Default "2.36": an assumption
	// to check against Forter's current reference.
	APIVersion string `json:"api_version,omitempty"`
	// TokenCookie is the cookie Forter's JS sets (default forterToken).
	TokenCookie string `json:"token_cookie,omitempty"`
	// OnNotReviewed is the action for NOT_REVIEWED (default allow).
	OnNotReviewed string `json:"on_not_reviewed,omitempty"`
	// LoginMethodType (default PASSWORD) and ChannelType (default WEB).
	LoginMethodType string `json:"login_method_type,omitempty"`
	ChannelType     string `json:"channel_type,omitempty"`
	// Timeout bounds one call (default 2s, at most 30s).
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// AuthResultKey is the JSON key of the method object in the
	// authentication-result body (default additionalAuthenticationMethod,
	// Forter's public naming; the seed's prose says
	// AdvancedAuthenticationMethod): an assumption to check.
	AuthResultKey string `json:"auth_result_key,omitempty"`

	client *client.Client
}

// CaddyModule returns the Caddy module information.
func (Forter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: engines.Namespace + ".forter", New: func() caddy.Module { return new(Forter) }}
}

// Provision builds the client; it opens no connection.
func (f *Forter) Provision(caddy.Context) error {
	if f.Name == "" {
		f.Name = "forter"
	}
	onNR := rules.Allow
	if f.OnNotReviewed != "" {
		var err error
		if onNR, err = rules.ParseAction(f.OnNotReviewed); err != nil {
			return fmt.Errorf("forter: on_not_reviewed: %v", err)
		}
	}
	if err := caddyopt.CheckDuration("timeout", f.Timeout, client.MaxTimeout); err != nil {
		return fmt.Errorf("forter: %w", err)
	}
	res := caddyopt.NewResolver()
	siteID, apiKey, endpoint := res.Value("site_id", f.SiteID), res.Value("api_key", f.APIKey), res.Value("endpoint", f.Endpoint)
	if res.Err != nil {
		return fmt.Errorf("forter: %w", res.Err)
	}
	var err error
	f.client, err = client.New(client.Config{
		Name:                f.Name,
		SiteID:              siteID,
		APIKey:              apiKey,
		Endpoint:            endpoint,
		APIVersion:          f.APIVersion,
		TokenCookie:         f.TokenCookie,
		LoginMethodType:     f.LoginMethodType,
		ChannelType:         f.ChannelType,
		OnNotReviewed:       onNR,
		Timeout:             time.Duration(f.Timeout),
		AuthResultMethodKey: f.AuthResultKey,
		// The route resolves its account_id placeholder per request.
		AccountID: func(a *rules.Attempt) string { return a.AccountID },
	})
	if err != nil {
		return fmt.Errorf("forter: %w", err)
	}
	return nil
}

// Cleanup closes idle connections; it tolerates a failed Provision.
func (f *Forter) Cleanup() error {
	if f.client != nil {
		f.client.CloseIdleConnections()
	}
	return nil
}

// EngineName implements engines.Module.
func (f *Forter) EngineName() string { return f.Name }

// Engine implements engines.Module.
func (f *Forter) Engine() rules.Engine { return f.client }

// Client is the Forter client, for reporting second-factor results.
func (f *Forter) Client() *client.Client { return f.client }

// PostAuthOnly implements engines.PostAuthOnly: Forter wants only logins
// whose password was right.
func (f *Forter) PostAuthOnly() bool { return true }

// UnmarshalCaddyfile reads
//
//	forter [<name>] {
//		site_id           <id>
//		api_key           <key>
//		endpoint          <url>
//		api_version       <version>
//		token_cookie      <cookie name>
//		on_not_reviewed   allow|challenge|deny
//		login_method_type <PASSWORD|...>
//		channel_type      <WEB|...>
//		timeout           <duration>
//		auth_result_key   <json key>
//	}
func (f *Forter) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		if f.Name = d.Val(); f.Name == "" {
			return d.Err("forter: the engine name must not be empty (leave it out for \"forter\")")
		}
	}
	// EachOption refuses a second argument, and any option given twice.
	err := caddyopt.EachOption(d, "forter", nil, func(key string) error {
		switch key {
		case "timeout":
			return caddyopt.DurationArg(d, &f.Timeout, client.MaxTimeout)
		case "endpoint":
			if d.CountRemainingArgs() == 0 {
				return d.Errf("forter: %s has no value (if it comes from {$VAR}, that variable is not set)", key)
			}
			return caddyopt.CheckedArg(d, &f.Endpoint, client.CheckEndpoint)
		case "on_not_reviewed":
			if err := caddyopt.OneArg(d, &f.OnNotReviewed); err != nil {
				return err
			}
			if _, err := rules.ParseAction(f.OnNotReviewed); err != nil {
				return d.Errf("forter: on_not_reviewed: %v", err)
			}
			return nil
		}
		dst, ok := map[string]*string{
			"site_id":           &f.SiteID,
			"api_key":           &f.APIKey,
			"api_version":       &f.APIVersion,
			"token_cookie":      &f.TokenCookie,
			"login_method_type": &f.LoginMethodType,
			"channel_type":      &f.ChannelType,
			"auth_result_key":   &f.AuthResultKey,
		}[key]
		if !ok {
			return d.Errf("forter: unknown option %q", key)
		}
		if d.CountRemainingArgs() == 0 {
			return d.Errf("forter: %s has no value (if it comes from {$VAR}, that variable is not set)", key)
		}
		return caddyopt.NonEmptyArg(d, dst)
	})
	if err != nil {
		return err
	}
	if f.SiteID == "" || f.APIKey == "" {
		return d.Err("forter: site_id and api_key are required")
	}
	return nil
}

// Interface guards.
var (
	_ engines.Module        = (*Forter)(nil)
	_ engines.PostAuthOnly  = (*Forter)(nil)
	_ caddy.Provisioner     = (*Forter)(nil)
	_ caddy.CleanerUpper    = (*Forter)(nil)
	_ caddyfile.Unmarshaler = (*Forter)(nil)
)
