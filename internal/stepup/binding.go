package stepup

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
)

// Binding is what the request at hand says about its client; a token only
// opens for the client it was issued to.
type Binding struct {
	// User is the user name. See the package doc for when it is compared.
	User string
	// Route is the guarded route's name.
	Route string
	// IP is the client address as Caddy resolved it.
	IP netip.Addr
	// UserAgent is the request's User-Agent header.
	UserAgent string
	// StepUp is where the step-up route is (StepUpPlace): a state is
	// finished only under the one its route sent it to, so a second
	// step-up route offering weaker methods (on the site, or on another
	// site of the same Caddy) cannot finish a state meant for the
	// stronger one. Compared when both the binding and the state name one
	// (see stepUpRefusal).
	StepUp string
	// LoginHost is the Host of the login request that consumes a
	// continuation or a pass. When set, it must be the host the state's
	// login came to (Challenge.Host): every site of a Caddy shares the
	// token keys and two sites' login routes may share a name, so without
	// it one site's continuation would replay its held login (password
	// included) to the other site's portal, and one site's pass would
	// skip the other's challenge.
	LoginHost string
}

// StepUpPlace names a step-up route: its path without a query or a
// trailing slash, after its host (lower case, without :443) when the
// login sends the browser to another host. A step-up route names itself
// with its own host.
func StepUpPlace(host, path string) string {
	path = strings.TrimRight(path, "/")
	if host == "" {
		return path
	}
	return placeHost(host) + path
}

// placeHost is a Host as places name it: lower case, without :443.
func placeHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(host), ":443")
}

// splitPlace cuts a place into its host ("" for a path on the login's
// site) and its path.
func splitPlace(place string) (host, path string) {
	if i := strings.IndexByte(place, '/'); i >= 0 {
		return place[:i], place[i:]
	}
	return place, ""
}

// stepUpRefusal says why st may not be finished at the step-up route
// named at, or "" when it may. Every site of a Caddy shares the token
// keys, so the host is what tells one site's step-up route from
// another's: a state sent to another host (step_up_hosts) names that
// host, and one sent to a path on the login's site is finished on the
// host the login came to (st.Host). A Host rewritten by a proxy in front
// is not taken on trust: the step-up route must see the host the browser
// used. A place without a host (the login route checking a pass) has only
// its path compared.
func stepUpRefusal(st State, at string) string {
	sentHost, sentPath := splitPlace(st.StepUp)
	atHost, atPath := splitPlace(at)
	if atHost != "" {
		if sentHost == "" {
			sentHost = st.Host
		}
		// A state from before states recorded their login's host names
		// none and is refused: states live minutes, and its user signs
		// in again.
		if sentHost != atHost {
			return ReasonHostMismatch
		}
	}
	if sentPath != atPath {
		return ReasonStepUpMismatch
	}
	return ""
}

// IPPrefix sets how much of the client address a token is bound to. A
// shorter prefix (/24) tolerates mobile networks that move a client
// between addresses; the defaults bind to one IPv4 host and one IPv6 /64
// (one household or phone).
type IPPrefix struct {
	V4Bits int // default 32
	V6Bits int // default 64
}

func (p IPPrefix) withDefaults() IPPrefix {
	if p.V4Bits == 0 {
		p.V4Bits = 32
	}
	if p.V6Bits == 0 {
		p.V6Bits = 64
	}
	return p
}

// Validate checks the prefixes as the issuer will use them (0 is the
// default), so a route can refuse bad ones when its config is loaded
// rather than when the first state is issued.
func (p IPPrefix) Validate() error { return p.withDefaults().validate() }

func (p IPPrefix) validate() error {
	if p.V4Bits < 8 || p.V4Bits > 32 {
		return fmt.Errorf("stepup: IPv4 prefix /%d out of range 8..32", p.V4Bits)
	}
	if p.V6Bits < 16 || p.V6Bits > 128 {
		return fmt.Errorf("stepup: IPv6 prefix /%d out of range 16..128", p.V6Bits)
	}
	return nil
}

// prefixOf masks ip to the configured length. IPv4-mapped IPv6 addresses
// are treated as IPv4 so a dual-stack listener cannot change the binding.
func (p IPPrefix) prefixOf(ip netip.Addr) (string, bool) {
	if !ip.IsValid() {
		return "", false
	}
	ip = ip.Unmap()
	bits := p.V6Bits
	if ip.Is4() {
		bits = p.V4Bits
	}
	pfx, err := ip.Prefix(bits)
	if err != nil {
		return "", false
	}
	return pfx.String(), true
}

// ipWithin reports whether ip falls in the prefix recorded at issue.
func ipWithin(recorded string, ip netip.Addr) bool {
	pfx, err := netip.ParsePrefix(recorded)
	if err != nil || !ip.IsValid() {
		return false
	}
	return pfx.Contains(ip.Unmap())
}

// AgentHash is the short, stable hash of a User-Agent a token carries, so
// the token does not grow with long agent strings.
func AgentHash(userAgent string) string {
	sum := sha256.Sum256([]byte(userAgent))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Of returns the client's address prefix as the state records it, for
// per-client accounting; false for an invalid address.
func (p IPPrefix) Of(ip netip.Addr) (string, bool) { return p.withDefaults().prefixOf(ip) }
