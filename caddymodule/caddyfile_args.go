package caddymodule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/rules"
)

// oneArg reads exactly one argument: a missing or extra one is an error
// that names the line.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.Errf("unexpected argument %q", d.Val())
	}
	return nil
}

func oneOf(d *caddyfile.Dispenser, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return d.Errf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

func intArg(d *caddyfile.Dispenser, lo, hi int) (int, error) {
	var s string
	if err := oneArg(d, &s); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, d.Errf("%q must be a whole number from %d to %d", s, lo, hi)
	}
	return n, nil
}

func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil || v <= 0 {
		return d.Errf("invalid duration %q", s)
	}
	*dst = caddy.Duration(v)
	return nil
}

// boundedDurationArg reads one duration from lo to hi inclusive; unlike
// durationArg it takes 0 when lo is 0 ("0" means zero, not the default).
func boundedDurationArg(d *caddyfile.Dispenser, dst *caddy.Duration, lo, hi time.Duration) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil || v < lo || v > hi {
		return d.Errf("%q must be a duration from %v to %v", s, lo, hi)
	}
	*dst = caddy.Duration(v)
	return nil
}

func checkCIDRs(d *caddyfile.Dispenser, args []string) error {
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

// parseChannel reads a SmartID channel id: a positive integer.
func parseChannel(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("channel must be a positive integer, not %q", s)
	}
	return n, nil
}

// eachOption walks the options of a block such as `smartid { ... }`: the
// block takes no arguments of its own, and an option given twice is an
// error naming its line, unless repeatable says it may recur (nil: none
// may). fn is called with the dispenser on the option's name.
func eachOption(d *caddyfile.Dispenser, section string, repeatable func(string) bool, fn func(key string) error) error {
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
