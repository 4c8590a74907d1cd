package main

import (
	"fmt"
	"os"
	"time"
)

// floodResult is the memory check: a flood of distinct client addresses
// at a `rate ip` route, and what it left behind.
type floodResult struct {
	Requests         int64          `json:"requests"`
	Distinct         int            `json:"distinct_addresses"`
	MaxKeys          int            `json:"max_keys"`
	RPS              float64        `json:"rps"`
	RSSBeforeKiB     int64          `json:"rss_before_kib"`
	RSSAfterKiB      int64          `json:"rss_after_kib"`
	RSSPeakKiB       int64          `json:"rss_peak_kib"`
	GoroutinesBefore int            `json:"goroutines_before"`
	GoroutinesAfter  int            `json:"goroutines_after"`
	Statuses         map[string]int `json:"statuses,omitempty"`
}

// flood sends o.flood requests, each from a new address (X-Forwarded-For,
// honoured because loopback is a trusted proxy), at the guarded side's
// `rate ip 5/1m` route, and reads the process's memory and goroutines
// before and after (after the connections closed and a moment passed).
func flood(s *side, o options) (*floodResult, error) {
	admin := fmt.Sprintf("127.0.0.1:%d", s.admin)
	f := &floodResult{Distinct: o.flood, MaxKeys: o.maxKeys}
	var err error
	if f.RSSBeforeKiB, _, err = memory(s.proc.pid()); err != nil {
		return nil, err
	}
	if f.GoroutinesBefore, err = goroutines(admin); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "flood: %d distinct addresses...\n", o.flood)
	// The Go generator: it counts requests exactly and varies the header.
	gen := &goGen{conns: o.floodConns}
	m, err := gen.run(request{method: "POST", url: s.base() + "/api/flood", body: loginForm, xffDistinct: o.flood}, 0, o.flood)
	if err != nil {
		return nil, err
	}
	f.Requests, f.RPS, f.Statuses = m.Requests, m.RPS, m.Statuses
	time.Sleep(3 * time.Second) // idle connections close, goroutines end
	if f.RSSAfterKiB, f.RSSPeakKiB, err = memory(s.proc.pid()); err != nil {
		return nil, err
	}
	if f.GoroutinesAfter, err = goroutines(admin); err != nil {
		return nil, err
	}
	return f, nil
}
