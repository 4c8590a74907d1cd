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

// ParseWindow reads "N/window", e.g. "5/1m", "100/1h", "3/1d": N events
// (1..MaxLimit) per sliding window. The window is a Go duration, and also
// accepts a whole number of days with "d".
func ParseWindow(s string) (int, time.Duration, error) {
	num, dur, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("invalid limit %q: want N/window such as 5/1m", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, 0, fmt.Errorf("invalid limit %q: N must be a whole number from 1 to %d", s, MaxLimit)
	}
	w, err := ParseDuration(dur)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid limit %q: %v", s, err)
	}
	return n, w, nil
}

// ParseDuration reads a positive Go duration ("90s", "15m", "1h30m") or a
// whole number of days ("1d", "7d").
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3650 {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number from 1 to 3650", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 15m, 1h or 1d)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be positive", s)
	}
	return d, nil
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
