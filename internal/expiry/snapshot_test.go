package expiry

import (
	"errors"
	"testing"
)

// TestSnapshotRoundTrip: what AppendSnapshot writes, OpenSnapshot reads
// back, without the entries expired at its now; another magic, or a
// snapshot cut short, is refused.
func TestSnapshotRoundTrip(t *testing.T) {
	entries := []Entry{{Key: 1, At: 100}, {Key: 2, At: 50}, {Key: 1 << 63, At: 300}}
	b := AppendSnapshot([]byte("prefix"), "TESTSET1", entries, 60)
	s, err := OpenSnapshot(b[len("prefix"):], "TESTSET1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 || s.Entry(0) != entries[0] || s.Entry(1) != entries[2] {
		t.Fatalf("read back %d entries: %v %v", s.Len(), s.Entry(0), s.Entry(1))
	}
	for name, bad := range map[string][]byte{
		"other magic": append([]byte("TESTSET2"), b[len("prefix")+MagicLen:]...),
		"cut short":   b[len("prefix") : len(b)-1],
		"no magic":    b[len("prefix") : len("prefix")+3],
	} {
		if _, err := OpenSnapshot(bad, "TESTSET1"); !errors.Is(err, ErrNotSnapshot) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
