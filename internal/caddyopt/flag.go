package caddyopt

import "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

// NoArgs refuses arguments after a flag option (one that is on when
// written).
func NoArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}
