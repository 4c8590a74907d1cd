// Package caddyopt reads Caddyfile options the way every login_guard block
// does: one argument where one is expected, a value from a fixed set, a
// bounded whole number, a duration, address ranges, a route's name, lists
// and blocks whose values and options may each appear once. Every error
// names the Caddyfile line. The
// app, the route handlers and the engine guests all parse with it.
package caddyopt

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/rules"
)

// OneArg reads exactly one argument: a missing or extra one is an error
// that names the line.
func OneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.Errf("unexpected argument %q", d.Val())
	}
	return nil
}

// NonEmptyArg is OneArg for a value that may not be empty: a quoted ""
// would otherwise read as the option left out, its default silently
// taking its place.
func NonEmptyArg(d *caddyfile.Dispenser, dst *string) error {
	key := d.Val()
	if err := OneArg(d, dst); err != nil {
		return err
	}
	if *dst == "" {
		return d.Errf("%s must not be empty (leave it out for its default)", key)
	}
	return nil
}

// CookieNameArg is NonEmptyArg for a cookie's name, which must be one a
// Cookie line can carry: a name with a blank, "=" or ";" would never
// match, and what the option ties to the cookie would silently never
// happen.
func CookieNameArg(d *caddyfile.Dispenser, dst *string) error {
	option := d.Val()
	if err := NonEmptyArg(d, dst); err != nil {
		return err
	}
	if err := CheckCookieNames(option, *dst); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// CheckCookieNames checks cookie names given in pairs: the option, then
// its value ("" for an option left out, which passes).
func CheckCookieNames(optionAndName ...string) error {
	for i := 0; i+1 < len(optionAndName); i += 2 {
		option, name := optionAndName[i], optionAndName[i+1]
		if name == "" {
			continue
		}
		if (&http.Cookie{Name: name}).Valid() != nil {
			return fmt.Errorf("%s: %q is not a cookie name (a token: no blank, separator such as = ; , \" or control character)", option, name)
		}
	}
	return nil
}

// CheckedArg reads exactly one argument into dst and checks it with check,
// the rule the value must pass when the config loads (a client's own URL
// rule, say), so a bad literal value is refused with its line by `caddy
// adapt` as well. A value holding a placeholder is known only when the
// config loads, and is checked then.
func CheckedArg(d *caddyfile.Dispenser, dst *string, check func(string) error) error {
	if err := OneArg(d, dst); err != nil {
		return err
	}
	return checkLiteral(d, *dst, check)
}

// checkLiteral checks v with check at the dispenser's line, unless it
// holds a placeholder, which is known (and checked) only once resolved.
func checkLiteral(d *caddyfile.Dispenser, v string, check func(string) error) error {
	if strings.Contains(v, "{") {
		return nil
	}
	if err := check(v); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// OneOfArg reads exactly one argument into dst, which must be one of
// allowed.
func OneOfArg(d *caddyfile.Dispenser, dst *string, allowed ...string) error {
	if err := OneArg(d, dst); err != nil {
		return err
	}
	return OneOf(d, *dst, allowed...)
}

// ListArgs reads the values of an option that takes a list (at least
// one): a value given twice is refused at the line, as an option given
// twice is, since the second says nothing the first did not.
func ListArgs(d *caddyfile.Dispenser, dst *[]string) error {
	option := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	for i, a := range args {
		if slices.Contains(args[:i], a) {
			return d.Errf("%s: %q given twice", option, a)
		}
	}
	*dst = args
	return nil
}

// RouteNameArg reads a route's name, checked by CheckRouteName unless it
// holds a placeholder, which is checked once resolved.
func RouteNameArg(d *caddyfile.Dispenser, dst *string) error {
	if err := NonEmptyArg(d, dst); err != nil {
		return err
	}
	return checkLiteral(d, *dst, CheckRouteName)
}

// CheckRouteName refuses a route name that would make a poor metric
// label, admin API id and counter prefix: a blank, a "/" (counter ids
// are the name, "/", the rule), a control character or anything else but
// ASCII letters, digits, ".", "_" and "-".
func CheckRouteName(name string) error {
	for _, c := range name {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return fmt.Errorf("name %q: a route's name (by default its named matcher's) takes ASCII letters, digits, \".\", \"_\" and \"-\" only, not %q: it is a metric label, the admin API's route id and its counters' prefix", name, c)
	}
	return nil
}

// OneOf checks that v is one of allowed.
func OneOf(d *caddyfile.Dispenser, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return d.Errf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// IntArg reads one whole number from lo (at least 0) to hi, written as
// digits only ("+5" is refused).
func IntArg(d *caddyfile.Dispenser, lo, hi int) (int, error) {
	option := d.Val() // the dispenser is on the option's name
	var s string
	if err := OneArg(d, &s); err != nil {
		return 0, err
	}
	n, ok := WholeNumber(s, lo, hi)
	if !ok {
		return 0, d.Errf("%s: %q must be a whole number from %d to %d", option, s, lo, hi)
	}
	return n, nil
}

// WholeNumber reads s as a whole number from lo (at least 0) to hi,
// written as digits only ("+5", " 5" and "0x5" are refused).
func WholeNumber(s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || strings.Trim(s, "0123456789") != "" || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// DurationArg reads one positive duration of at most longest: every
// duration option has a maximum, so a unit typed wrong (300m for 300ms)
// is refused at its line instead of making a request wait for hours or a
// state last for years. CheckDuration is the same rule for a JSON config.
func DurationArg(d *caddyfile.Dispenser, dst *caddy.Duration, longest time.Duration) error {
	option := d.Val()
	var s string
	if err := OneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil || v <= 0 || v > longest {
		return d.Errf("%s: %q must be a positive duration of at most %v", option, s, longest)
	}
	*dst = caddy.Duration(v)
	return nil
}

// CheckDuration is DurationArg's rule for a value from a JSON config,
// where zero means the option was left out (its default): a negative
// value, or one above longest, is refused, naming the option.
func CheckDuration(option string, v caddy.Duration, longest time.Duration) error {
	if v < 0 || time.Duration(v) > longest {
		return fmt.Errorf("%s must be a positive duration of at most %v, not %v", option, longest, time.Duration(v))
	}
	return nil
}

// BoundedDurationArg reads one duration from lo to hi inclusive; unlike
// DurationArg it takes 0 when lo is 0 ("0" means zero, not the default).
func BoundedDurationArg(d *caddyfile.Dispenser, dst *caddy.Duration, lo, hi time.Duration) error {
	option := d.Val()
	var s string
	if err := OneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil || v < lo || v > hi {
		return d.Errf("%s: %q must be a duration from %v to %v", option, s, lo, hi)
	}
	*dst = caddy.Duration(v)
	return nil
}

// CheckCIDRs checks address ranges given on one line; values holding a
// placeholder are checked at provision instead.
func CheckCIDRs(d *caddyfile.Dispenser, args []string) error {
	var plain []string
	for _, a := range args {
		if !strings.Contains(a, "{") {
			plain = append(plain, a)
		}
	}
	if _, err := rules.ParseIPList(plain); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// AppendCIDRs reads the address ranges of an allow_ip/deny_ip line (at
// least one, each checked unless it holds a placeholder) onto dst: the
// option may be given more than once.
func AppendCIDRs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	if err := CheckCIDRs(d, args); err != nil {
		return err
	}
	*dst = append(*dst, args...)
	return nil
}

// EachOption walks the options of a block such as `smartid { ... }`: the
// block takes no arguments of its own, and an option given twice is an
// error naming its line, unless repeatable says it may recur (nil: none
// may). fn is called with the dispenser on the option's name.
func EachOption(d *caddyfile.Dispenser, section string, repeatable func(string) bool, fn func(key string) error) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if seen[key] && (repeatable == nil || !repeatable(key)) {
			return d.Errf("%s: %s given twice", section, key)
		}
		seen[key] = true
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

// Place is where an option was read, kept so that a check that can only
// run once the whole block is read (an option that does not fit the
// route's event, which may come later) still names the option's line.
type Place struct{ tok caddyfile.Token }

// At is the place of the dispenser's current token.
func At(d *caddyfile.Dispenser) Place { return Place{tok: d.Token()} }

// Err wraps err with the place's file and line, as Dispenser.WrapErr does.
func (p Place) Err(err error) error {
	d := caddyfile.NewDispenser([]caddyfile.Token{p.tok})
	d.Next()
	return d.WrapErr(err)
}
