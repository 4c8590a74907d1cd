package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// results is the JSON the benchmark writes: the conditions, every round's
// figures, and the summaries the tables are made of.
type results struct {
	Meta      metadata         `json:"meta"`
	Scenarios []scenarioResult `json:"scenarios"`
	Flood     *floodResult     `json:"flood,omitempty"`
}

type metadata struct {
	Date        string `json:"date"`
	Commit      string `json:"commit,omitempty"`
	Go          string `json:"go"`
	OS          string `json:"os"`
	CPU         string `json:"cpu,omitempty"`
	CPUs        int    `json:"cpus"`
	Generator   string `json:"generator"`
	Connections int    `json:"connections"`
	Rounds      int    `json:"rounds"`
	Duration    string `json:"duration"`
	EngineDelay string `json:"engine_delay"`
	LogSink     string `json:"log_sink"`
	// AccessLog: every site on both sides wrote Caddy's access log.
	AccessLog bool `json:"access_log,omitempty"`
	// GC is how Go's collector ran in every Caddy (see collectorEnv);
	// empty in results written before the option: Go's default pacing.
	GC string `json:"gc,omitempty"`
	// LoadBefore and LoadAfter are /proc/loadavg's three averages: a
	// machine busy with other work makes every figure noisier.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
}

type roundResult struct {
	Bare    measurement `json:"bare"`
	Guarded measurement `json:"guarded"`
	Ratio   float64     `json:"ratio"` // guarded req/s over bare req/s
	// Also is the scenario's third side in the same round (see
	// scenarioResult.Also), and AlsoRatio its req/s over bare req/s.
	Also      *measurement `json:"also,omitempty"`
	AlsoRatio float64      `json:"also_ratio,omitempty"`
}

type scenarioResult struct {
	Name string `json:"name"`
	// Also names the third side measured in every round (see
	// alsoSides), or is empty.
	Also string `json:"also_side,omitempty"`
	// Rate is the requests a second the scenario was paced at, or 0.
	Rate    int           `json:"rate,omitempty"`
	Rounds  []roundResult `json:"rounds"`
	Summary summary       `json:"summary"`
}

// summary is the medians over the rounds and the spread of the ratio.
type summary struct {
	BareRPS    float64 `json:"bare_rps"`
	GuardedRPS float64 `json:"guarded_rps"`
	Ratio      float64 `json:"ratio"` // median of the rounds' ratios
	RatioMin   float64 `json:"ratio_min"`
	RatioMax   float64 `json:"ratio_max"`
	BareP50ms  float64 `json:"bare_p50_ms"`
	GuardedP50 float64 `json:"guarded_p50_ms"`
	BareP99ms  float64 `json:"bare_p99_ms"`
	GuardedP99 float64 `json:"guarded_p99_ms"`
	P99Ratio   float64 `json:"p99_ratio"` // median guarded p99 over median bare p99
	BareCPUus  float64 `json:"bare_cpu_us_per_req"`
	GuardedCPU float64 `json:"guarded_cpu_us_per_req"`
	GuardCPUus float64 `json:"guard_cpu_us_per_req"` // the difference: the guard's own CPU per request
	// VendorCPUus is the SmartID stand-in's CPU per request, besides
	// Caddy's (login_smartid only).
	VendorCPUus float64 `json:"vendor_cpu_us_per_req,omitempty"`
	// BareBusy and GuardedBusy are the share of the machine's CPU time
	// busy during each side's runs (runs before this figure have none).
	BareBusy    float64 `json:"bare_machine_busy,omitempty"`
	GuardedBusy float64 `json:"guarded_machine_busy,omitempty"`
	// Stolen is the median over every side's runs of the share of the
	// CPUs' time the hypervisor took.
	Stolen      float64 `json:"stolen,omitempty"`
	RoundsCount int     `json:"rounds"`
	// Also summarises the third side's figures, against the same bare
	// runs (a scenario with one only).
	Also *sideSummary `json:"also,omitempty"`
}

// sideSummary is one more guarded side's medians, read against the
// scenario's bare figures.
type sideSummary struct {
	RPS        float64 `json:"rps"`
	Ratio      float64 `json:"ratio"` // median of the rounds' ratios to bare
	RatioMin   float64 `json:"ratio_min"`
	RatioMax   float64 `json:"ratio_max"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	P99Ratio   float64 `json:"p99_ratio"` // median p99 over median bare p99
	CPUus      float64 `json:"cpu_us_per_req"`
	GuardCPUus float64 `json:"guard_cpu_us_per_req"`
	// StoreCPUus is redis-server's CPU per request, besides Caddy's
	// (the Redis side only).
	StoreCPUus float64 `json:"store_cpu_us_per_req,omitempty"`
	// VendorCPUus is the SmartID stand-in's (the SmartID side only).
	VendorCPUus float64 `json:"vendor_cpu_us_per_req,omitempty"`
	MachineBusy float64 `json:"machine_busy,omitempty"`
}

func (s *scenarioResult) summarise() {
	pick := func(f func(roundResult) float64) float64 {
		v := make([]float64, len(s.Rounds))
		for i, r := range s.Rounds {
			v[i] = f(r)
		}
		return median(v)
	}
	var ratios []float64
	for _, r := range s.Rounds {
		ratios = append(ratios, r.Ratio)
	}
	sum := summary{
		BareRPS:     pick(func(r roundResult) float64 { return r.Bare.RPS }),
		GuardedRPS:  pick(func(r roundResult) float64 { return r.Guarded.RPS }),
		Ratio:       median(ratios),
		BareP50ms:   pick(func(r roundResult) float64 { return r.Bare.P50ms }),
		GuardedP50:  pick(func(r roundResult) float64 { return r.Guarded.P50ms }),
		BareP99ms:   pick(func(r roundResult) float64 { return r.Bare.P99ms }),
		GuardedP99:  pick(func(r roundResult) float64 { return r.Guarded.P99ms }),
		BareCPUus:   pick(func(r roundResult) float64 { return r.Bare.CPUusPerReq }),
		GuardedCPU:  pick(func(r roundResult) float64 { return r.Guarded.CPUusPerReq }),
		VendorCPUus: pick(func(r roundResult) float64 { return r.Guarded.VendorCPUusPerReq }),
		BareBusy:    pick(func(r roundResult) float64 { return r.Bare.MachineBusy }),
		GuardedBusy: pick(func(r roundResult) float64 { return r.Guarded.MachineBusy }),
		RoundsCount: len(s.Rounds),
	}
	if len(ratios) > 0 {
		sum.RatioMin, sum.RatioMax = slices.Min(ratios), slices.Max(ratios)
	}
	if sum.BareP99ms > 0 {
		sum.P99Ratio = sum.GuardedP99 / sum.BareP99ms
	}
	sum.GuardCPUus = sum.GuardedCPU - sum.BareCPUus
	var stolen []float64
	for _, r := range s.Rounds {
		stolen = append(stolen, r.Bare.Stolen, r.Guarded.Stolen)
		if r.Also != nil {
			stolen = append(stolen, r.Also.Stolen)
		}
	}
	sum.Stolen = median(stolen)
	sum.Also = s.alsoSummary(sum)
	s.Summary = sum
}

// alsoSummary is the third side's medians, nil when no round has one.
func (s *scenarioResult) alsoSummary(bare summary) *sideSummary {
	var rs []measurement
	var ratios []float64
	for _, r := range s.Rounds {
		if r.Also != nil {
			rs = append(rs, *r.Also)
			ratios = append(ratios, r.AlsoRatio)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	pick := func(f func(measurement) float64) float64 {
		v := make([]float64, len(rs))
		for i, m := range rs {
			v[i] = f(m)
		}
		return median(v)
	}
	u := &sideSummary{
		RPS:         pick(func(m measurement) float64 { return m.RPS }),
		Ratio:       median(ratios),
		RatioMin:    slices.Min(ratios),
		RatioMax:    slices.Max(ratios),
		P50ms:       pick(func(m measurement) float64 { return m.P50ms }),
		P99ms:       pick(func(m measurement) float64 { return m.P99ms }),
		CPUus:       pick(func(m measurement) float64 { return m.CPUusPerReq }),
		StoreCPUus:  pick(func(m measurement) float64 { return m.StoreCPUusPerReq }),
		VendorCPUus: pick(func(m measurement) float64 { return m.VendorCPUusPerReq }),
		MachineBusy: pick(func(m measurement) float64 { return m.MachineBusy }),
	}
	if bare.BareP99ms > 0 {
		u.P99Ratio = u.P99ms / bare.BareP99ms
	}
	u.GuardCPUus = u.CPUus - bare.BareCPUus
	return u
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (r *results) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readResults(path string) (*results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &r, nil
}

// markdownTable renders the results as the docs' Performance table.
func markdownTable(r *results) string {
	var b strings.Builder
	m := r.Meta
	if len(r.Scenarios) == 0 && r.Flood != nil {
		// The memory check alone (-rounds 0): no table of rounds.
		fmt.Fprintf(&b, "The memory check alone; %d CPUs (%s); %s; Caddy log sink: %s; load average %s before, %s after",
			m.CPUs, m.CPU, m.Go, m.LogSink, m.LoadBefore, m.LoadAfter)
		writeRunEnd(&b, m)
		writeFlood(&b, r.Flood)
		return strings.TrimRight(b.String(), "\n") + "\n"
	}
	fmt.Fprintf(&b, "%d rounds of %s per scenario and side, interleaved; %s, %d connections; %d CPUs (%s); %s; Caddy log sink: %s; load average %s before, %s after",
		m.Rounds, m.Duration, m.Generator, m.Connections, m.CPUs, m.CPU, m.Go, m.LogSink, m.LoadBefore, m.LoadAfter)
	writeRunEnd(&b, m)
	b.WriteString("| scenario | bare req/s | guarded req/s | ratio (median) | ratio spread | p99 bare | p99 guarded | p99 ratio (rounds) | Caddy CPU/req bare | guarded | guard's own |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	row := "| %s | %.0f | %.0f | %.3f | %.3f–%.3f | %.2f ms | %.2f ms | %s | %.0f µs | %.0f µs | %.0f µs |\n"
	for _, s := range r.Scenarios {
		u := s.Summary
		name, alsoName := s.rowNames()
		fmt.Fprintf(&b, row,
			name, u.BareRPS, u.GuardedRPS, u.Ratio, u.RatioMin, u.RatioMax, u.BareP99ms, u.GuardedP99,
			p99Cell(u.P99Ratio, s.Rounds, func(r roundResult) *measurement { return &r.Guarded }), u.BareCPUus, u.GuardedCPU, u.GuardCPUus)
		if x := u.Also; x != nil {
			// Both guarded sides against the same bare runs: one row each.
			fmt.Fprintf(&b, row,
				alsoName, u.BareRPS, x.RPS, x.Ratio, x.RatioMin, x.RatioMax, u.BareP99ms, x.P99ms,
				p99Cell(x.P99Ratio, s.Rounds, func(r roundResult) *measurement { return r.Also }), u.BareCPUus, x.CPUus, x.GuardCPUus)
		}
	}
	for _, s := range r.Scenarios {
		if x := s.Summary.Also; x != nil && s.Also == "guarded_redis" {
			fmt.Fprintf(&b, "\n%s: redis-server's own CPU per request on the Redis store's side: %.0f µs (median), not in the Caddy columns.\n", s.Name, x.StoreCPUus)
		}
		if v := s.Summary.VendorCPUus; v > 0 {
			fmt.Fprintf(&b, "\n%s: the SmartID stand-in's own CPU per request, on the same cores: %.0f µs (median), not in the Caddy columns.\n", s.Name, v)
		}
		if x := s.Summary.Also; x != nil && x.VendorCPUus > 0 {
			_, alsoName := s.rowNames()
			fmt.Fprintf(&b, "\n%s: the SmartID stand-in's own CPU per request, on the same cores: %.0f µs (median), not in the Caddy columns.\n", alsoName, x.VendorCPUus)
		}
		if u := s.Summary; u.BareBusy > 0 && u.GuardedBusy > 0 {
			_, alsoName := s.rowNames()
			fmt.Fprintf(&b, "\n%s: the machine's CPUs busy %.0f %% of the time with bare Caddy, %.0f %% with the guard", s.Name, 100*u.BareBusy, 100*u.GuardedBusy)
			if x := u.Also; x != nil && x.MachineBusy > 0 {
				fmt.Fprintf(&b, ", %.0f %% with the side %s", 100*x.MachineBusy, strings.TrimPrefix(alsoName, s.Name+", "))
			}
			b.WriteString(" (medians; every process and the kernel)")
			if u.Stolen >= 0.005 {
				fmt.Fprintf(&b, "; the hypervisor took %.0f %% of the CPUs' time (median), which the runs did not get", 100*u.Stolen)
			}
			b.WriteString(".\n")
		}
		if s.Rate > 0 {
			fmt.Fprintf(&b, "\n%s: paced at %d requests a second by the Go generator (%d connections), so the sides' req/s are the same by design; what differs is the CPU per request and the latency.\n", s.Name, s.Rate, r.Meta.Connections)
		}
	}
	if r.Flood != nil {
		b.WriteString("\n")
		writeFlood(&b, r.Flood)
	}
	return b.String()
}

// writeRunEnd ends a table's first line with whether access logs were
// on, how the collector ran and the commit measured.
func writeRunEnd(b *strings.Builder, m metadata) {
	if m.AccessLog {
		b.WriteString("; Caddy's access log on every site of both sides")
	}
	if m.GC != "" {
		fmt.Fprintf(b, "; Go collector: %s", m.GC)
	}
	if m.Commit != "" {
		fmt.Fprintf(b, "; commit %s", m.Commit)
	}
	b.WriteString(".\n\n")
}

// markdownSummary renders the results as the README's short table: each
// guarded row's throughput and p99 against bare and the guard's own CPU,
// without the paced scenarios (whose throughput is the same by design).
func markdownSummary(r *results) string {
	var b strings.Builder
	m := r.Meta
	fmt.Fprintf(&b, "%d rounds of %s per scenario and side, interleaved; %s; Caddy log sink: %s", m.Rounds, m.Duration, m.Generator, m.LogSink)
	writeRunEnd(&b, m)
	b.WriteString("| scenario | guarded ÷ bare (rounds) | p99 ÷ bare | guard's own CPU a request |\n")
	b.WriteString("|---|---|---|---|\n")
	row := "| %s | %.3f× (%.2f–%.2f) | %.2f× | %.0f µs |\n"
	for _, s := range r.Scenarios {
		if s.Rate > 0 {
			continue
		}
		u := s.Summary
		name, alsoName := s.rowNames()
		fmt.Fprintf(&b, row, name, u.Ratio, u.RatioMin, u.RatioMax, u.P99Ratio, u.GuardCPUus)
		if x := u.Also; x != nil {
			fmt.Fprintf(&b, row, alsoName, x.Ratio, x.RatioMin, x.RatioMax, x.P99Ratio, x.GuardCPUus)
		}
	}
	return b.String()
}

// p99Cell is the p99 ratio of the medians and, with more than one round,
// the spread of the rounds' own ratios (a side's p99 over bare's in the
// same round): the tail moves from round to round more than throughput
// does, and one figure would hide by how much.
func p99Cell(ratio float64, rounds []roundResult, side func(roundResult) *measurement) string {
	var v []float64
	for _, r := range rounds {
		if m := side(r); m != nil && r.Bare.P99ms > 0 {
			v = append(v, m.P99ms/r.Bare.P99ms)
		}
	}
	if len(v) < 2 {
		return fmt.Sprintf("%.2f", ratio)
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", ratio, slices.Min(v), slices.Max(v))
}

// rowNames are the table's names for the scenario's guarded side and its
// third side: the scenario's name alone when it has none.
func (s *scenarioResult) rowNames() (main, also string) {
	if s.Summary.Also == nil {
		return s.Name, ""
	}
	l, ok := alsoSides[s.Also]
	if !ok {
		l.main, l.also = "guarded", s.Also
	}
	return s.Name + ", " + l.main, s.Name + ", " + l.also
}

func kib(n int64) float64 { return float64(n) / 1024 }

// compareResults prints the medians of two runs side by side.
func compareResults(a, b *results) string {
	var out strings.Builder
	fmt.Fprintf(&out, "old: %s %s (load %s)\nnew: %s %s (load %s)\n\n", a.Meta.Commit, a.Meta.Date, a.Meta.LoadBefore, b.Meta.Commit, b.Meta.Date, b.Meta.LoadBefore)
	out.WriteString("| scenario | ratio old | ratio new | guarded req/s old | new | guard CPU/req old | new |\n|---|---|---|---|---|---|---|\n")
	for _, s := range b.Scenarios {
		var old *summary
		for i := range a.Scenarios {
			if a.Scenarios[i].Name == s.Name {
				old = &a.Scenarios[i].Summary
			}
		}
		if old == nil {
			old = &summary{}
		}
		n := s.Summary
		name, alsoName := s.rowNames()
		fmt.Fprintf(&out, "| %s | %.3f | %.3f | %.0f | %.0f | %.0f µs | %.0f µs |\n", name, old.Ratio, n.Ratio, old.GuardedRPS, n.GuardedRPS, old.GuardCPUus, n.GuardCPUus)
		if n.Also != nil {
			o := old.Also
			if o == nil {
				o = &sideSummary{}
			}
			fmt.Fprintf(&out, "| %s | %.3f | %.3f | %.0f | %.0f | %.0f µs | %.0f µs |\n", alsoName, o.Ratio, n.Also.Ratio, o.RPS, n.Also.RPS, o.GuardCPUus, n.Also.GuardCPUus)
		}
	}
	return out.String()
}

// writeFlood renders the memory check's results.
func writeFlood(b *strings.Builder, f *floodResult) {
	fmt.Fprintf(b, "Flood: %d requests from %d distinct addresses (trusted_proxies + X-Forwarded-For) at a `rate ip` route, max_keys %d, %.0f req/s: "+
		"RSS %.1f MiB before, %.1f MiB after (peak %.1f MiB); goroutines %d before, %d after; answers %v.\n",
		f.Requests, f.Distinct, f.MaxKeys, f.RPS, kib(f.RSSBeforeKiB), kib(f.RSSAfterKiB), kib(f.RSSPeakKiB), f.GoroutinesBefore, f.GoroutinesAfter, f.Statuses)
	if f.KeepAliveBefore != nil && f.KeepAliveAfter != nil {
		fmt.Fprintf(b, "Goroutines besides those of kept-alive HTTP client connections (net/http persistConn loops: %d before, %d after): %d before, %d after.\n",
			*f.KeepAliveBefore, *f.KeepAliveAfter, f.GoroutinesBefore-*f.KeepAliveBefore, f.GoroutinesAfter-*f.KeepAliveAfter)
	}
	if len(f.Steps) > 0 {
		b.WriteString("RSS as the flood went on:")
		for _, st := range f.Steps {
			fmt.Fprintf(b, " %d addresses %.1f MiB;", st.Addresses, kib(st.RSSKiB))
		}
		b.WriteString("\n")
	}
}
