// Command demo runs the example portal behind Caddy with login_guard, all
// in one process and with no external service:
//
//	go run ./examples/demo
//
// then open http://localhost:8080. Flags choose another Caddyfile (for
// example examples/smartid.Caddyfile to send events to a real SmartID) and
// the portal's address.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard/caddymodule"
	"github.com/login-guard/login_guard/examples/portal"
)

func main() {
	config := flag.String("config", "Caddyfile", "the Caddyfile to run")
	portalAddr := flag.String("portal", "127.0.0.1:9000", "where the example portal listens (the Caddyfile's upstream)")
	admin := flag.String("admin", "http://localhost:2019", "the Caddy admin API the portal's help page asks for passkey enrolment links (empty: no links)")
	flag.Parse()
	if err := run(*config, *portalAddr, *admin); err != nil {
		log.Fatal(err)
	}
}

func run(configPath, portalAddr, admin string) error {
	ln, err := net.Listen("tcp", portalAddr)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	go func() {
		p := portal.New()
		p.EnrolLinkAdmin = admin
		srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("portal: %v", err)
		}
	}()

	body, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(body, map[string]any{"filename": configPath})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		log.Printf("caddyfile: %s", w.String())
	}
	if err := caddy.Load(cfg, true); err != nil {
		return err
	}
	fmt.Printf("demo: portal on http://%s, guarded portal on http://localhost:8080 (Ctrl-C stops)\n", portalAddr)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return caddy.Stop()
}
