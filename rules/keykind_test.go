package rules

import (
	"net/netip"
	"strings"
	"testing"
)

// TestSubjects: the counter subjects of an attempt, in their fixed
// formats, are the same whether the user subject is cut from the pair's
// text or built on its own, in any order of asking.
func TestSubjects(t *testing.T) {
	long := strings.Repeat("x", maxUserKey+1)
	cases := []struct {
		user, ip     string
		ipS, u, ipuS string
	}{
		{"JLopez ", "203.0.113.7", "ip=203.0.113.7/32", "user=jlopez", "ip=203.0.113.7/32 user=jlopez"},
		{"ana", "2001:db8::7", "ip=2001:db8::/64", "user=ana", "ip=2001:db8::/64 user=ana"},
		{"ana", "::ffff:10.0.0.1", "ip=10.0.0.1/32", "user=ana", "ip=10.0.0.1/32 user=ana"},
		{"", "10.0.0.1", "ip=10.0.0.1/32", "", ""},
		{"ana", "", "", "user=ana", ""},
		{long, "10.0.0.1", "ip=10.0.0.1/32", "user=" + userKey(long), "ip=10.0.0.1/32 user=" + userKey(long)},
	}
	orders := [][]KeyKind{{KeyUser, KeyIPUser, KeyIP}, {KeyIPUser, KeyUser, KeyIP}, {KeyIP, KeyUser, KeyIPUser}}
	for _, c := range cases {
		a := &Attempt{User: c.user}
		if c.ip != "" {
			a.IP = netip.MustParseAddr(c.ip)
		}
		want := map[KeyKind]string{KeyIP: c.ipS, KeyUser: c.u, KeyIPUser: c.ipuS}
		for _, pair := range []bool{false, true} {
			for _, order := range orders {
				s := subjects{a: a, norm: &Normalizer{}, pair: pair}
				for _, k := range order {
					if got := s.get(k); got != want[k] {
						t.Errorf("user %q ip %q pair %v order %v: %s = %q, want %q", c.user, c.ip, pair, order, k, got, want[k])
					}
				}
			}
		}
	}
}

// TestSubjectsPairOneAllocation: when a policy counts by ip_user, the
// address, user and pair subjects are cut from one string.
func TestSubjectsPairOneAllocation(t *testing.T) {
	a := &Attempt{User: "jlopez", IP: netip.MustParseAddr("203.0.113.7")}
	norm := &Normalizer{}
	for _, order := range [][]KeyKind{{KeyIP, KeyUser, KeyIPUser}, {KeyIPUser, KeyIP, KeyUser}, {KeyUser, KeyIP, KeyIPUser}} {
		allocs := testing.AllocsPerRun(100, func() {
			s := subjects{a: a, norm: norm, pair: true}
			for _, k := range order {
				if s.get(k) == "" {
					t.Fatal(k)
				}
			}
		})
		if allocs != 1 {
			t.Errorf("order %v: %v allocations, want 1", order, allocs)
		}
	}
}
