// Package logbuffer is the `caddy.logging.writers.buffered` log output: it
// wraps another output (a file, most often) and writes its lines in
// blocks (see internal/logbuffer), so a busy guard's audit lines cost a
// write system call per block instead of one per line.
package logbuffer

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/logbuffer"
)

func init() {
	caddy.RegisterModule(Output{})
}

// The bounds of a block and of its wait. A block below 4 KiB saves
// little; above 16 MiB it is a lot to lose in a crash. A line waits at
// least 10ms (less would be a write a line at a guard's rates) and at
// most a minute.
const (
	DefaultSize     = 64 << 10
	MinSize         = 4 << 10
	MaxSize         = 16 << 20
	DefaultInterval = time.Second
	MinInterval     = 10 * time.Millisecond
	MaxInterval     = time.Minute
)

// Output is a log output that buffers the lines of another.
type Output struct {
	// Size is the block's size in bytes (default 64 KiB).
	Size int `json:"size,omitempty"`
	// FlushInterval is how long the first line of a block waits at most
	// before the block is written (default 1s).
	FlushInterval caddy.Duration `json:"flush_interval,omitempty"`
	// OutputRaw is the output the blocks are written to (its JSON key is
	// "writer", as in a log's own config: "output" names this module).
	OutputRaw json.RawMessage `json:"writer,omitempty" caddy:"namespace=caddy.logging.writers inline_key=output"`

	out caddy.WriterOpener
}

// CaddyModule returns the Caddy module information.
func (Output) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.logging.writers.buffered", New: func() caddy.Module { return new(Output) }}
}

// Provision loads the wrapped output and checks the bounds.
func (o *Output) Provision(ctx caddy.Context) error {
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = caddy.Duration(DefaultInterval)
	}
	if o.Size < MinSize || o.Size > MaxSize {
		return fmt.Errorf("buffered: size %d must be from %s to %s", o.Size, humanize.IBytes(MinSize), humanize.IBytes(MaxSize))
	}
	if d := time.Duration(o.FlushInterval); d < MinInterval || d > MaxInterval {
		return fmt.Errorf("buffered: flush_interval %s must be from %s to %s", d, MinInterval, MaxInterval)
	}
	if o.OutputRaw == nil {
		return fmt.Errorf("buffered: an output to write to is required")
	}
	mod, err := ctx.LoadModule(o, "OutputRaw")
	if err != nil {
		return fmt.Errorf("buffered: loading its output: %v", err)
	}
	o.out = mod.(caddy.WriterOpener)
	if _, ok := o.out.(*Output); ok {
		return fmt.Errorf("buffered: its output is buffered already")
	}
	return nil
}

// String is how Caddy names the output in its own logs.
func (o *Output) String() string { return "buffered " + o.out.String() }

// WriterKey identifies the output for Caddy's pool of open writers: the
// same wrapped output with the same block and wait is one writer, kept
// open (with its lines) across config reloads.
func (o *Output) WriterKey() string {
	return "buffered:" + strconv.Itoa(o.Size) + ":" + time.Duration(o.FlushInterval).String() + ":" + o.out.WriterKey()
}

// OpenWriter opens the wrapped output and buffers in front of it, from
// the moment a config newer than the one running now (the one opening
// the writer, in practice) is running. Until then lines go straight out:
// when Caddy refuses a config (at `caddy validate`, at startup) it logs
// the error through the config's own logs and exits at once, with no
// exit hook to write a block out, so a buffered error would be lost.
func (o *Output) OpenWriter() (io.WriteCloser, error) {
	w, err := o.out.OpenWriter()
	if err != nil {
		return nil, err
	}
	bw := logbuffer.New(w, o.Size, time.Duration(o.FlushInterval))
	running := caddy.ActiveContext().Context
	bw.BufferWhen(func() bool { return caddy.ActiveContext().Context != running })
	return openWriters.add(bw), nil
}

// UnmarshalCaddyfile reads
//
//	output buffered {
//		size <bytes>
//		flush_interval <duration>
//		output <writer> ...
//	}
func (o *Output) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	var warnings []caddyconfig.Warning
	err := caddyopt.EachOption(d, "buffered", nil, func(key string) error {
		switch key {
		case "size":
			var s string
			if err := caddyopt.OneArg(d, &s); err != nil {
				return err
			}
			n, err := humanize.ParseBytes(s)
			if err != nil || n < MinSize || n > MaxSize {
				return d.Errf("buffered: size %q must be from %s to %s", s, humanize.IBytes(MinSize), humanize.IBytes(MaxSize))
			}
			o.Size = int(n)
			return nil
		case "flush_interval":
			return caddyopt.BoundedDurationArg(d, &o.FlushInterval, MinInterval, MaxInterval)
		case "output":
			if !d.NextArg() {
				return d.ArgErr()
			}
			name := d.Val()
			var wo caddy.WriterOpener
			switch name {
			case "stdout":
				wo = caddy.StdoutWriter{}
			case "stderr":
				wo = caddy.StderrWriter{}
			case "discard":
				wo = caddy.DiscardWriter{}
			case "buffered":
				return d.Errf("buffered: its output is buffered already")
			default:
				unm, err := caddyfile.UnmarshalModule(d, "caddy.logging.writers."+name)
				if err != nil {
					return err
				}
				var ok bool
				if wo, ok = unm.(caddy.WriterOpener); !ok {
					return d.Errf("buffered: module %s is not a log output", name)
				}
			}
			o.OutputRaw = caddyconfig.JSONModuleObject(wo, "output", name, &warnings)
			return nil
		}
		return d.Errf("buffered: unknown option %q", key)
	})
	if err != nil {
		return err
	}
	if o.OutputRaw == nil {
		return d.Errf("buffered: an output to write to is required")
	}
	return nil
}

// Interface guards.
var (
	_ caddy.WriterOpener    = (*Output)(nil)
	_ caddy.Provisioner     = (*Output)(nil)
	_ caddyfile.Unmarshaler = (*Output)(nil)
)
