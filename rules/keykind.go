package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
)

// KeyKind is what a counting rule counts by.
type KeyKind uint8

const (
	// KeyIP counts by client address prefix (see Normalizer).
	KeyIP KeyKind = iota + 1
	// KeyUser counts by normalised user name. Alone it lets anyone lock a
	// victim out by name: prefer KeyIPUser or a challenge action.
	KeyUser
	// KeyIPUser counts by the pair address prefix and user name.
	KeyIPUser
	// KeyDevice counts by device: Signals.DeviceID when known, else a
	// digest of the SmartID payload.
	KeyDevice
)

var keyKindNames = [...]string{KeyIP: "ip", KeyUser: "user", KeyIPUser: "ip_user", KeyDevice: "device"}

func (k KeyKind) String() string {
	if int(k) < len(keyKindNames) && keyKindNames[k] != "" {
		return keyKindNames[k]
	}
	return fmt.Sprintf("key(%d)", uint8(k))
}

// ParseKeyKind reads ip, user, ip_user or device.
func ParseKeyKind(s string) (KeyKind, error) {
	for i, n := range keyKindNames {
		if n != "" && n == s {
			return KeyKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown key %q (want ip, user, ip_user or device)", s)
}

// subjects computes an attempt's counter subjects once per evaluation, on
// demand. Formats: "ip=203.0.113.7/32", "user=jlopez",
// "ip=203.0.113.7/32 user=jlopez", "device=<32 hex digits>". An address
// prefix never holds a space, so the pair form splits unambiguously.
type subjects struct {
	a    *Attempt
	sig  *Signals
	norm *Normalizer

	// pair: the policy counts by ip_user, so the address and user
	// subjects are taken from the pair's text (one allocation for all
	// three). An address- or user-keyed entry then keeps the rest of that
	// text alive too: at most the other part and " user=", about 180
	// bytes, which the store's per-key estimate leaves out.
	pair bool

	prefix   netip.Prefix
	user     string // normalised, bounded; "" when the attempt has none
	haveIP   bool
	haveUser bool
	ipDone   bool
	userDone bool

	ip, u, ipu, dev string
}

// initIP normalises the address once per evaluation.
func (s *subjects) initIP() {
	if s.ipDone {
		return
	}
	s.ipDone = true
	s.prefix = s.norm.IP(s.a.IP)
	s.haveIP = s.prefix.IsValid()
}

// initUser normalises the user name once per evaluation.
func (s *subjects) initUser() {
	if s.userDone {
		return
	}
	s.userDone = true
	s.user = userKey(s.norm.User(s.a.User))
	s.haveUser = s.user != ""
}

// get returns the subject for kind, or "" when the attempt lacks the part
// (no valid address, an empty user name, no device payload): the rule then
// does not count this attempt.
func (s *subjects) get(k KeyKind) string {
	switch k {
	case KeyIP:
		if s.initIP(); s.ip == "" && s.haveIP {
			if s.pair {
				s.initUser()
			}
			if s.pair && s.haveUser {
				ipu := s.get(KeyIPUser)
				s.ip = ipu[:len(ipu)-len(" user=")-len(s.user)]
			} else {
				var buf [64]byte
				s.ip = string(s.prefix.AppendTo(append(buf[:0], "ip="...)))
			}
		}
		return s.ip
	case KeyUser:
		if s.initUser(); s.u == "" && s.haveUser {
			if s.initIP(); s.pair && s.haveIP {
				ipu := s.get(KeyIPUser)
				s.u = ipu[len(ipu)-len("user=")-len(s.user):]
			} else {
				s.u = "user=" + s.user
			}
		}
		return s.u
	case KeyIPUser:
		s.initIP()
		if s.initUser(); s.ipu == "" && s.haveIP && s.haveUser && s.ip != "" {
			s.ipu = s.ip + " user=" + s.user
		} else if s.ipu == "" && s.haveIP && s.haveUser {
			var buf [192]byte
			b := s.prefix.AppendTo(append(buf[:0], "ip="...))
			b = append(append(b, " user="...), s.user...)
			s.ipu = string(b)
		}
		return s.ipu
	case KeyDevice:
		if s.dev == "" {
			s.dev = deviceSubject(s.a, s.sig)
		}
		return s.dev
	}
	return ""
}

func deviceSubject(a *Attempt, sig *Signals) string {
	id := ""
	if sig != nil {
		id = sig.DeviceID
	}
	if id == "" {
		if !a.DevicePresent || a.Device == "" {
			return ""
		}
		id = a.Device
	}
	sum := sha256.Sum256([]byte(id))
	var buf [7 + 32]byte
	b := append(buf[:0], "device="...)
	b = hex.AppendEncode(b, sum[:16])
	return string(b)
}
