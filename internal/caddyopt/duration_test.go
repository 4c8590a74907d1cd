package caddyopt

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestDurationArgHasAMaximum: a duration option takes a positive value up
// to its maximum, the maximum itself included; above it (a unit typed
// wrong) is refused naming the option and its line, as is a value that is
// zero, negative or no duration.
func TestDurationArgHasAMaximum(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want time.Duration
		err  string
	}{
		{"300ms", 300 * time.Millisecond, ""},
		{"30s", 30 * time.Second, ""},
		{"1ns", time.Nanosecond, ""},
		{"30001ms", 0, `timeout: "30001ms" must be a positive duration of at most 30s, at Testfile:2`},
		{"300m", 0, `timeout: "300m" must be a positive duration of at most 30s, at Testfile:2`},
		{"1d", 0, `timeout: "1d" must be a positive duration of at most 30s, at Testfile:2`},
		{"0s", 0, `timeout: "0s" must be a positive duration of at most 30s, at Testfile:2`},
		{"-1s", 0, `timeout: "-1s" must be a positive duration of at most 30s, at Testfile:2`},
		{"soon", 0, `timeout: "soon" must be a positive duration of at most 30s, at Testfile:2`},
	} {
		d := caddyfile.NewTestDispenser("block {\n\ttimeout " + c.arg + "\n}")
		d.Next()
		d.NextBlock(0)
		var got caddy.Duration
		err := DurationArg(d, &got, 30*time.Second)
		if c.err == "" && (err != nil || time.Duration(got) != c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.arg, time.Duration(got), err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: got %v, want %q", c.arg, err, c.err)
		}
	}
}

// TestCheckDuration: a JSON value is held to the same maximum; zero is an
// option left out (its default).
func TestCheckDuration(t *testing.T) {
	for _, c := range []struct {
		v   time.Duration
		err string
	}{
		{0, ""},
		{time.Second, ""},
		{10 * time.Minute, ""},
		{10*time.Minute + 1, "lockout_hold must be a positive duration of at most 10m0s, not 10m0.000000001s"},
		{60 * time.Hour, "lockout_hold must be a positive duration of at most 10m0s, not 60h0m0s"},
		{-time.Second, "lockout_hold must be a positive duration of at most 10m0s, not -1s"},
	} {
		err := CheckDuration("lockout_hold", caddy.Duration(c.v), 10*time.Minute)
		if c.err == "" && err != nil || c.err != "" && (err == nil || err.Error() != c.err) {
			t.Errorf("%v: got %v, want %q", c.v, err, c.err)
		}
	}
}
