package caddyopt

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"
)

// Resolver replaces the placeholders of a config's values when the config
// loads ({env.*} above all). A placeholder that resolves to nothing is an
// error, not an empty value: an unset environment variable must not turn
// into an empty secret, a signing key switched off, a default prefix or
// field name, or a check skipped. Its error names the option and the
// placeholder, never a value. Unknown placeholders are left as written.
type Resolver struct {
	repl *caddy.Replacer
	// Err is the first value that did not resolve.
	Err error
}

// NewResolver returns a Resolver with Caddy's global placeholders.
func NewResolver() *Resolver { return &Resolver{repl: caddy.NewReplacer()} }

// Value is v resolved, or "" (and Err set) when one of its placeholders
// resolves to nothing. option names v in the error.
func (r *Resolver) Value(option, v string) string {
	out, err := r.repl.ReplaceOrErr(v, true, false)
	if err != nil {
		if r.Err == nil {
			r.Err = fmt.Errorf("%s: %w (is the environment variable set?)", option, err)
		}
		return ""
	}
	return out
}

// Values resolves each of vs as Value does.
func (r *Resolver) Values(option string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = r.Value(option, v)
	}
	return out
}
