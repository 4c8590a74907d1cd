package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Go's collector paces itself by each process's live heap: it starts a
// collection when the heap has grown by GOGC percent over what the last
// one left live. The guarded Caddy keeps more live memory than bare Caddy
// (its session cache, counters and metrics), so with the default pacing
// it collects about half as often for the same allocation, and bare Caddy
// pays a collector cost the guarded side does not: pass-through, where
// the guard does nothing, came out at 1.07-1.09x bare. That is no cost of
// the guard's, and flatters every guarded figure beside it.
//
// With -gc equal (the default) every Caddy runs with GOGC=off and the
// same GOMEMLIMIT: each collects when its heap reaches the limit, so the
// collections' frequency depends on the limit less the live heap (a few
// per cent apart at 256 MiB), and on what each side allocates, which is
// the guard's own cost. -gc default leaves Go's pacing as it is, to
// compare with runs made before this option.
const (
	gcEqual   = "equal"
	gcDefault = "default"
)

// collectorEnv is what a Caddy side's environment sets for -gc mode
// (last in the environment, so it wins over what the caller's holds).
func collectorEnv(mode string, limitMiB int) ([]string, error) {
	switch mode {
	case gcEqual:
		if limitMiB < 64 {
			return nil, fmt.Errorf("-gc-limit: want at least 64 (MiB), not %d", limitMiB)
		}
		return []string{"GOGC=off", fmt.Sprintf("GOMEMLIMIT=%dMiB", limitMiB)}, nil
	case gcDefault:
		return []string{"GOGC=100", "GOMEMLIMIT=off"}, nil
	}
	return nil, fmt.Errorf("-gc: want equal or default, not %q", mode)
}

// collectorLabel describes the mode in the results' metadata and the
// table's first line.
func collectorLabel(mode string, limitMiB int) string {
	if mode == gcEqual {
		return fmt.Sprintf("GOGC=off, GOMEMLIMIT=%dMiB on every Caddy", limitMiB)
	}
	return "Go's default pacing"
}

// checkCollector reads the heap size at which the Caddy of side s will
// next collect (expvar's memstats.NextGC, from its admin endpoint) and
// fails unless it matches mode: near the limit with -gc equal, far below
// it with Go's pacing on a freshly started process. It is how a run knows
// the environment reached the process.
func checkCollector(s *side, mode string, limitMiB int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/debug/vars", s.admin), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var vars struct {
		MemStats struct{ NextGC uint64 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return fmt.Errorf("%s's /debug/vars: %v", s.name, err)
	}
	next := vars.MemStats.NextGC
	if mode != gcEqual {
		// -gc-limit means nothing then: a fresh process under Go's own
		// pacing aims for a few MiB, far below the default limit.
		limitMiB = 256
	}
	half := uint64(limitMiB) << 19 // half the limit, in bytes
	if equal := mode == gcEqual; equal != (next >= half) {
		return fmt.Errorf("%s: Go's collector is not as -gc %s asks: its next collection is at %d KiB of heap (limit %d MiB)", s.name, mode, next>>10, limitMiB)
	}
	return nil
}
