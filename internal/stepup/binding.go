package stepup

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
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
	// host under a shared cookie domain) cannot finish a state meant for
	// the stronger one. Compared when both the binding and the state name
	// one (see stepUpMatches).
	StepUp string
}

// StepUpPlace names a step-up route: its path without a query or a
// trailing slash, after its host (lower case, without :443) when the
// login sends the browser to another host. A step-up route names itself
// with its own host; a state naming only a path matches it on any host
// of the site.
func StepUpPlace(host, path string) string {
	path = strings.TrimRight(path, "/")
	if host == "" {
		return path
	}
	return strings.TrimSuffix(strings.ToLower(host), ":443") + path
}

// stepUpMatches reports whether a state sent to the step-up route named
// sent may be finished at the one named at. The hosts are compared when
// the route's own is within the state's cookie domain (another host there
// could run a weaker step-up route); a Host a proxy in front rewrote (an
// internal address) says nothing, and only the paths are compared.
func stepUpMatches(sent, at, domain string) bool {
	if !strings.HasPrefix(sent, "/") {
		host, _, _ := strings.Cut(at, "/")
		if name, _, err := net.SplitHostPort(host); err == nil {
			host = name
		}
		domain = strings.ToLower(strings.TrimPrefix(domain, "."))
		if domain != "" && host != domain && !strings.HasSuffix(host, "."+domain) {
			_, sentPath, _ := strings.Cut(sent, "/")
			sent = "/" + sentPath
		}
	}
	if strings.HasPrefix(sent, "/") {
		if i := strings.IndexByte(at, '/'); i > 0 {
			at = at[i:]
		}
	}
	return sent == at
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
