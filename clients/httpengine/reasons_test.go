package httpengine

import (
	"reflect"
	"testing"
)

func TestSanitizeReason(t *testing.T) {
	tests := []struct {
		in     string
		maxLen int
		want   string
	}{
		{"new_device", 48, "new_device"},
		{"New Device", 48, "new_device"},
		{"  geo--velocity!! ", 48, "geo_velocity"},
		{"UPPER_and_123", 48, "upper_and_123"},
		{"__x__", 48, "x"},
		{"émoji 😀 risk", 48, "moji_risk"},
		{"!!!", 48, ""},
		{"", 48, ""},
		{"abcdefghij", 8, "abcdefgh"},
		{"abcdefg hij", 8, "abcdefg"},    // no trailing "_" at the cut
		{"abcdef hij", 8, "abcdef_h"},    // the separator stays when a letter fits after it
		{"abcdef\x00\xff", 48, "abcdef"}, // control and invalid bytes
		{"user alice@example.com", 8, "user_ali"},
	}
	for _, tt := range tests {
		if got := SanitizeReason(tt.in, tt.maxLen); got != tt.want {
			t.Errorf("SanitizeReason(%q, %d) = %q, want %q", tt.in, tt.maxLen, got, tt.want)
		}
	}
}

func TestSanitizeReasons(t *testing.T) {
	in := []string{"A", "a", "", "!!", "b c", "d", "e", "f"}
	got := sanitizeReasons(in, 4, 16, nil)
	if want := []string{"a", "b_c", "d", "e"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	allowed := map[string]bool{"new_device": true}
	got = sanitizeReasons([]string{"New Device", "user_12345", "user_67890"}, 8, 48, allowed)
	if want := []string{"new_device", ReasonOther}; !reflect.DeepEqual(got, want) {
		t.Fatalf("allowlist: got %v, want %v", got, want)
	}
}
