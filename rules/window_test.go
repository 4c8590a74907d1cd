package rules

import (
	"strings"
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		w       time.Duration
		wantErr string
	}{
		{"5/1m", 5, time.Minute, ""},
		{"100/1h", 100, time.Hour, ""},
		{"3/1d", 3, 24 * time.Hour, ""},
		{"1/90s", 1, 90 * time.Second, ""},
		{"10000/1h30m", 10000, 90 * time.Minute, ""},
		{"5", 0, 0, "want N/window"},
		{"0/1m", 0, 0, "from 1 to 10000"},
		{"10001/1m", 0, 0, "from 1 to 10000"},
		{"-1/1m", 0, 0, "from 1 to 10000"},
		{"x/1m", 0, 0, "whole number"},
		{"5/", 0, 0, "invalid duration"},
		{"5/1fortnight", 0, 0, "invalid duration"},
		{"5/-1m", 0, 0, "must be positive"},
		{"5/0s", 0, 0, "must be positive"},
		{"5/0d", 0, 0, "days must be"},
		// Below a second a limit never fires: a typo for 1m would switch
		// it off. The cap is the same whatever the unit.
		{"5/1s", 5, time.Second, ""},
		{"5/3650d", 5, 3650 * 24 * time.Hour, ""},
		{"5/87600h", 5, 3650 * 24 * time.Hour, ""},
		{"5/1ms", 0, 0, "at least 1s"},
		{"5/999ms", 0, 0, "at least 1s"},
		{"5/1ns", 0, 0, "at least 1s"},
		{"5/2000000h", 0, 0, "at most 3650d"},
		{"5/87601h", 0, 0, "at most 3650d"},
		{"5/3651d", 0, 0, "days must be"},
		// Digits only: no sign, no space.
		{"+5/1m", 0, 0, "whole number"},
		{" 5/1m", 0, 0, "whole number"},
		{"5/+1d", 0, 0, "days must be"},
	}
	for _, tt := range tests {
		n, w, err := ParseWindow(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.in) {
				t.Errorf("ParseWindow(%q) error %v, want one naming the input and saying %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || n != tt.n || w != tt.w {
			t.Errorf("ParseWindow(%q) = %d, %v, %v; want %d, %v", tt.in, n, w, err, tt.n, tt.w)
		}
	}
}

// TestLockoutDurationBounds: a lockout's "for" duration has the window's
// bounds.
func TestLockoutDurationBounds(t *testing.T) {
	for _, d := range []string{"1ns", "1ms", "999ms", "2000000h", "3651d", "+1d"} {
		if _, err := ParseLockout("ip", "5/1m", d); err == nil {
			t.Errorf("lockout ip 5/1m for %s accepted", d)
		}
	}
	if _, err := ParseLockout("ip", "5/1m", "1s"); err != nil {
		t.Errorf("lockout for 1s: %v", err)
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 90 * time.Second, time.Minute, 10 * time.Minute,
		time.Hour, 90 * time.Minute, 24 * time.Hour, 48 * time.Hour, 1500 * time.Millisecond} {
		s := formatDuration(d)
		back, err := ParseDuration(s)
		if err != nil || back != d {
			t.Errorf("%v -> %q -> %v, %v", d, s, back, err)
		}
	}
	if got := formatDuration(10 * time.Minute); got != "10m" {
		t.Errorf("10m rendered %q", got)
	}
}
