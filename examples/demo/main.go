// Command demo runs the example portal behind Caddy with login_guard, all
// in one process and with no external service:
//
//	go run ./examples/demo
//
// then open http://localhost:8080. The first run compiles Caddy and the
// module first, which prints nothing for several minutes (README.md gives
// the times). Flags choose another Caddyfile (for example
// examples/smartid.Caddyfile to send events to a real SmartID), the
// portal's address, where Caddy's storage lives (the guard's keys and the
// enrolled passkeys), or serve only the portal (the README's quick start
// puts your own Caddy in front of it).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
	"github.com/login-guard/login_guard/examples/portal"
)

func main() {
	config := flag.String("config", "Caddyfile", "the Caddyfile to run")
	portalAddr := flag.String("portal", "127.0.0.1:9000", "where the example portal listens (the Caddyfile's upstream)")
	portalOnly := flag.Bool("portal-only", false, "serve only the example portal, no Caddy")
	data := flag.String("data", filepath.Join(os.TempDir(), "login_guard-demo"),
		"Caddy's storage directory: the guard's session keys and the enrolled passkeys")
	admin := flag.String("admin", "http://localhost:2019", "the Caddy admin API the portal's help page asks for passkey enrolment links (empty: no links)")
	flag.Parse()
	if err := run(*config, *portalAddr, *data, *admin, *portalOnly); err != nil {
		// Plainly on stderr: Caddy's packages send the standard logger to
		// its JSON log at level info, where a failure read as routine.
		fmt.Fprint(os.Stderr, failure(err))
		os.Exit(1)
	}
}

// failure is what the demo says when it cannot run, with a hint for the
// commonest cause: an address another program (an earlier demo) holds.
func failure(err error) string {
	msg := "demo: " + err.Error() + "\n"
	// Caddy's listen error is text, not wrapped.
	if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), syscall.EADDRINUSE.Error()) {
		msg += "demo: another program (an earlier demo, a Caddy) listens there: stop it, or choose other addresses (-portal, and -config with a Caddyfile of your own)\n"
	}
	return msg
}

func run(configPath, portalAddr, dataDir, admin string, portalOnly bool) error {
	ln, err := net.Listen("tcp", portalAddr)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	go func() {
		p := portal.New()
		p.EnrolLinkAdmin = admin
		srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "demo: portal: %v\n", err)
		}
	}()
	say("example portal on http://%s", portalAddr)
	if portalOnly {
		say("portal only: put your Caddy in front of it (Ctrl-C stops)")
		accounts()
		waitForSignal()
		return nil
	}

	say("starting Caddy with login_guard from %s", configPath)
	body, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(body, map[string]any{"filename": configPath})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "demo: caddyfile: %s\n", w.String())
	}
	if cfg, err = demoStorage(cfg, dataDir); err != nil {
		return err
	}
	say("Caddy's storage (the guard's session keys, enrolled passkeys): %s; delete it to start afresh", dataDir)
	say("Caddy's own log follows; each guarded request writes one \"login_guard\" line")
	if err := caddy.Load(cfg, true); err != nil {
		return err
	}
	say("ready: open %s (Ctrl-C stops)", siteURL(cfg))
	accounts()
	waitForSignal()
	return caddy.Stop()
}

// siteURL is the address to open: the first listener of the config's
// first HTTP server (":8080" → http://localhost:8080), so the line is
// right for any -config, not only the demo's Caddyfile.
func siteURL(cfg []byte) string {
	var c struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if json.Unmarshal(cfg, &c) != nil {
		return "the site your Caddyfile serves"
	}
	names := make([]string, 0, len(c.Apps.HTTP.Servers))
	for n := range c.Apps.HTTP.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, l := range c.Apps.HTTP.Servers[n].Listen {
			addr, err := caddy.ParseNetworkAddress(l)
			if err != nil || addr.IsUnixNetwork() {
				continue
			}
			host, scheme := addr.Host, "http"
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "localhost"
			}
			if addr.StartPort == 443 {
				scheme = "https"
			}
			return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, strconv.Itoa(int(addr.StartPort))))
		}
	}
	return "the site your Caddyfile serves"
}

// demoStorage keeps the demo's state out of the user's own Caddy data
// directory: storage goes to dataDir (unless the Caddyfile chose one), and
// the config is not autosaved.
func demoStorage(cfg []byte, dataDir string) ([]byte, error) {
	var c map[string]any
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	if _, set := c["storage"]; !set {
		c["storage"] = map[string]any{"module": "file_system", "root": dataDir}
	}
	admin, _ := c["admin"].(map[string]any)
	if admin == nil {
		admin = map[string]any{}
	}
	admin["config"] = map[string]any{"persist": false}
	c["admin"] = admin
	return json.Marshal(c)
}

func accounts() {
	fmt.Println(`  test accounts (user / password):
    alice / wonderland             signs in; then /verify/enrol registers a passkey
    sandbox-challenge / sandbox    challenged at every login: passkey step-up
    sandbox-deny / sandbox         denied by the sandbox engine (403)`)
}

func say(format string, args ...any) {
	fmt.Printf("demo: "+format+"\n", args...)
}

func waitForSignal() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
