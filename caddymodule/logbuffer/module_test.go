package logbuffer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/logging"

	"github.com/login-guard/login_guard/internal/logbuffer"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"buffered {\n\toutput stderr\n}", `{"writer":{"output":"stderr"}}`},
		{"buffered {\n\tsize 256KiB\n\tflush_interval 250ms\n\toutput file /var/log/audit.log {\n\t\troll_keep 3\n\t}\n}",
			`{"size":262144,"flush_interval":250000000,"writer":{"filename":"/var/log/audit.log","output":"file","roll_keep":3}}`},
	} {
		var o Output
		if err := o.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in)); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		got, _ := json.Marshal(o)
		if string(got) != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"buffered", "buffered: an output to write to is required, at Testfile:1"},
		{"buffered stderr", "unexpected line ending after 'stderr', at Testfile:1"},
		{"buffered {\n\tsize 1KiB\n\toutput stderr\n}", `buffered: size "1KiB" must be from 4.0 KiB to 16 MiB, at Testfile:2`},
		{"buffered {\n\tsize lots\n\toutput stderr\n}", `buffered: size "lots"`},
		{"buffered {\n\tflush_interval 2h\n\toutput stderr\n}", `"2h" must be a duration from 10ms to 1m0s, at Testfile:2`},
		{"buffered {\n\toutput stderr\n\toutput stdout\n}", "buffered: output given twice, at Testfile:3"},
		{"buffered {\n\toutput buffered {\n\t\toutput stderr\n\t}\n}", "buffered: its output is buffered already, at Testfile:2"},
		{"buffered {\n\toutput nowhere\n}", "nowhere"},
		{"buffered {\n\toutput\n}", "Testfile:2"},
		{"buffered {\n\tflush 1s\n\toutput stderr\n}", `buffered: unknown option "flush", at Testfile:2`},
	} {
		var o Output
		err := o.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// A config given as JSON is held to the same bounds at provision (caddy
// validate), and its lines reach the wrapped output.
func TestProvision(t *testing.T) {
	file := filepath.Join(t.TempDir(), "audit.log")
	for _, c := range []struct{ json, want string }{
		{`{"size":1024,"writer":{"output":"stderr"}}`, "size 1024 must be from 4.0 KiB to 16 MiB"},
		{`{"flush_interval":1000,"writer":{"output":"stderr"}}`, "flush_interval 1µs must be from 10ms to 1m0s"},
		{`{}`, "an output to write to is required"},
		{`{"writer":{"output":"buffered","writer":{"output":"stderr"}}}`, "its output is buffered already"},
		{`{"writer":{"output":"file","filename":"` + file + `"}}`, ""},
	} {
		var o Output
		if err := json.Unmarshal([]byte(c.json), &o); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
		err := o.Provision(ctx)
		if c.want == "" {
			if err != nil {
				t.Fatalf("%s: %v", c.json, err)
			}
			if o.Size != DefaultSize || time.Duration(o.FlushInterval) != DefaultInterval {
				t.Errorf("defaults: %d %s", o.Size, time.Duration(o.FlushInterval))
			}
			if got := o.String(); got != "buffered "+file {
				t.Errorf("String() = %q", got)
			}
			if !strings.HasPrefix(o.WriterKey(), "buffered:65536:1s:") {
				t.Errorf("WriterKey() = %q", o.WriterKey())
			}
			w, err := o.OpenWriter()
			if err != nil {
				t.Fatal(err)
			}
			// Until a config newer than the one running at the open runs
			// (none, here), lines go straight out: a config Caddy refuses
			// logs its error and exits with no hook to write a block.
			_, _ = w.Write([]byte("{\"msg\":\"early\"}\n"))
			if b, _ := os.ReadFile(file); string(b) != "{\"msg\":\"early\"}\n" {
				t.Errorf("before any config ran, the file holds %q", b)
			}
			if err := caddy.Load([]byte(`{"admin":{"disabled":true,"config":{"persist":false}}}`), false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = caddy.Stop() })
			_, _ = w.Write([]byte("{\"msg\":\"one\"}\n"))
			if b, _ := os.ReadFile(file); string(b) != "{\"msg\":\"early\"}\n" {
				t.Errorf("the line went out at once: %q", b)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(file); string(b) != "{\"msg\":\"early\"}\n{\"msg\":\"one\"}\n" {
				t.Errorf("after Close the file holds %q", b)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.json, err, c.want)
		}
		cancel()
	}
}

// At a graceful exit every open writer writes its block and then writes
// straight through; a writer Caddy closed is no longer among them.
func TestExitWritesOpenBlocks(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *closingWriter {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return openWriters.add(logbuffer.New(f, DefaultSize, time.Hour))
	}
	a, b := open("a.log"), open("b.log")
	_, _ = a.Write([]byte("a1\n"))
	_, _ = b.Write([]byte("b1\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	openWriters.unbufferAll(t.Context())
	_, _ = a.Write([]byte("a2\n"))
	for name, want := range map[string]string{"a.log": "a1\na2\n", "b.log": "b1\n"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	openWriters.mu.Lock()
	_, stillA := openWriters.set[a]
	_, stillB := openWriters.set[b]
	openWriters.mu.Unlock()
	if !stillA || stillB {
		t.Errorf("open set: a %v (want true), b %v (want false)", stillA, stillB)
	}
	_ = a.Close()
}
