package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxLimit bounds N in "N/window": a key keeps up to N event times, so N
// sets its worst-case memory (8 bytes each).
const MaxLimit = 10_000

// Bounds of a window or a lockout's duration, whatever its unit: below a
// second a limit would never fire (a typo for 1m switching it off), and
// the longest is the longest whole-day form.
const (
	MinDuration = time.Second
	MaxDays     = 3650
	MaxDuration = MaxDays * 24 * time.Hour
)

// ParseWindow reads "N/window", e.g. "5/1m", "100/1h", "3/1d": N events
// (1..MaxLimit) per sliding window. The window is a Go duration, and also
// accepts a whole number of days with "d"; either way it is from
// MinDuration to MaxDuration.
func ParseWindow(s string) (int, time.Duration, error) {
	num, dur, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("invalid limit %q: want N/window such as 5/1m", s)
	}
	n, err := atoiDigits(num)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, 0, fmt.Errorf("invalid limit %q: N must be a whole number from 1 to %d", s, MaxLimit)
	}
	w, err := ParseDuration(dur)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid limit %q: %v", s, err)
	}
	return n, w, nil
}

// ParseDuration reads a Go duration ("90s", "15m", "1h30m") or a whole
// number of days ("1d", "7d"), from MinDuration to MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := atoiDigits(d)
		if err != nil || n < 1 || n > MaxDays {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number from 1 to %d", s, MaxDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 15m, 1h or 1d)", s)
	case d <= 0:
		return 0, fmt.Errorf("invalid duration %q: must be positive", s)
	case d < MinDuration:
		return 0, fmt.Errorf("invalid duration %q: must be at least %v", s, MinDuration)
	case d > MaxDuration:
		return 0, fmt.Errorf("invalid duration %q: must be at most %dd", s, MaxDays)
	}
	return d, nil
}

// atoiDigits reads a whole number written as digits only: no sign, no
// space ("+5" is refused, where strconv.Atoi takes it).
func atoiDigits(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return strconv.Atoi(s)
}

// formatWindow renders a limit back in config form.
func formatWindow(n int, w time.Duration) string {
	return strconv.Itoa(n) + "/" + formatDuration(w)
}

func formatDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	s := d.String() // "1h0m0s", "10m0s", "1m30s", "1.5s"
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
