package main

import (
	"fmt"
	"os"
	"time"
)

// floodResult is the memory check: a flood of distinct client addresses
// at a `rate ip` route, and what it left behind.
type floodResult struct {
	Requests         int64   `json:"requests"`
	Distinct         int     `json:"distinct_addresses"`
	MaxKeys          int     `json:"max_keys"`
	RPS              float64 `json:"rps"`
	RSSBeforeKiB     int64   `json:"rss_before_kib"`
	RSSAfterKiB      int64   `json:"rss_after_kib"`
	RSSPeakKiB       int64   `json:"rss_peak_kib"`
	GoroutinesBefore int     `json:"goroutines_before"`
	GoroutinesAfter  int     `json:"goroutines_after"`
	// KeepAliveBefore and KeepAliveAfter are the goroutines of the HTTP
	// clients' kept-alive connections among them (see goroutineCount);
	// absent from files written before they were counted.
	KeepAliveBefore *int           `json:"goroutines_keepalive_before,omitempty"`
	KeepAliveAfter  *int           `json:"goroutines_keepalive_after,omitempty"`
	Statuses        map[string]int `json:"statuses,omitempty"`
	// Steps is the RSS after each quarter of the flood: a bounded store
	// levels off once it is full, an unbounded one keeps growing.
	Steps []floodStep `json:"steps"`
}

type floodStep struct {
	Addresses int   `json:"addresses"`
	RSSKiB    int64 `json:"rss_kib"`
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
	before, err := goroutines(admin)
	if err != nil {
		return nil, err
	}
	f.GoroutinesBefore, f.KeepAliveBefore = before.total, &before.keepAlive
	fmt.Fprintf(os.Stderr, "flood: %d distinct addresses...\n", o.flood)
	// The Go generator: it counts requests exactly and varies the header.
	// Four quarters, each with addresses of its own, RSS read after each.
	gen := &goGen{conns: o.floodConns}
	const quarters = 4
	var elapsed float64
	f.Statuses = map[string]int{}
	for q := range quarters {
		n := o.flood / quarters
		if q == quarters-1 {
			n = o.flood - q*(o.flood/quarters)
		}
		r := request{method: "POST", url: s.url("/api/flood"), body: loginForm, xffDistinct: n, xffOffset: q * (o.flood / quarters)}
		m, err := gen.run(r, 0, n)
		if err != nil {
			return nil, err
		}
		f.Requests += m.Requests
		if m.RPS > 0 {
			elapsed += float64(m.Requests) / m.RPS
		}
		for k, v := range m.Statuses {
			f.Statuses[k] += v
		}
		rss, _, err := memory(s.proc.pid())
		if err != nil {
			return nil, err
		}
		f.Steps = append(f.Steps, floodStep{Addresses: q*(o.flood/quarters) + n, RSSKiB: rss})
		fmt.Fprintf(os.Stderr, "flood: %d addresses, RSS %.1f MiB\n", q*(o.flood/quarters)+n, kib(rss))
	}
	if elapsed > 0 {
		f.RPS = float64(f.Requests) / elapsed
	}
	time.Sleep(3 * time.Second) // idle connections close, goroutines end
	if f.RSSAfterKiB, f.RSSPeakKiB, err = memory(s.proc.pid()); err != nil {
		return nil, err
	}
	after, err := goroutines(admin)
	if err != nil {
		return nil, err
	}
	f.GoroutinesAfter, f.KeepAliveAfter = after.total, &after.keepAlive
	return f, nil
}
