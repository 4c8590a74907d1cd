package caddyproc

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCountListening reads the LISTEN sockets (st 0A) of the watched
// ports from a /proc/net/tcp table, and nothing else.
func TestCountListening(t *testing.T) {
	const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0
`
	counts := map[int]int{}
	countListening(table, map[int]bool{8080: true, 9999: true}, counts)
	if len(counts) != 1 || counts[8080] != 2 {
		t.Fatalf("counts %v, want 8080: 2 (the established connection and port 80 not counted)", counts)
	}
}

// TestReloadReturnsOnceTheOldListenerClosed: after Reload returns, the
// site's port has one listening socket, and the first request on a new
// connection, sent at once and never retried, is answered by the new
// config.
func TestReloadReturnsOnceTheOldListenerClosed(t *testing.T) {
	const cfg = `{
	admin {{admin}}
	auto_https off
}
http://127.0.0.1:{{port.site}} {
	respond "%s"
}
`
	p := Start(t, fmt.Sprintf(cfg, "start"), Options{})
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 5 {
		want := fmt.Sprintf("config %d", i)
		if err := p.Reload(fmt.Sprintf(cfg, want)); err != nil {
			t.Fatal(err)
		}
		if n := p.listening()[p.Port("site")]; n != 1 {
			t.Fatalf("reload %d: %d sockets listening on the site's port", i, n)
		}
		resp, err := fresh.Get(p.URL("site"))
		if err != nil {
			t.Fatalf("reload %d: the first request after it: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(b)); got != want {
			t.Fatalf("reload %d: answered %q, want %q", i, got, want)
		}
	}
}
