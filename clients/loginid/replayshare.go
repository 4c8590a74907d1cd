package loginid

import (
	"hash/maphash"
	"net/netip"
	"sync"

	"github.com/login-guard/login_guard/internal/expiry"
)

// replayShares bounds how many of the replay cache's unexpired entries
// one user's tokens, and one client network's tokens, hold, so that
// nobody minting fresh tokens can fill a bounded cache and have every
// other user's token refused (replay_cache_full) until the entries
// expire.
//
// A user is the token's user claim exactly as signed, byte for byte (it
// is byte-equal to the user the portal acts for, or Verify refused the
// token before). Not a folded form: LoginID registration is
// self-service, so whoever registers "ALICE" mints tokens for "ALICE",
// and a share keyed by the folded name would let those tokens spend
// alice's share and have her own sign-ins refused. The name is hashed
// with a seed of this process, so nobody can pick a name whose hash is
// another's.
//
// A client is the network the token was sent from: the IPv4 /24 or the
// IPv6 /48 of its address (clientNet), so one account that LoginID
// lets mint tokens under many spellings of its name, or many
// self-registered accounts, still hold at most the client's share from
// one network. An invalid address (none known) is one client of its own.
//
// Each Remember is taken as a slot of both shares before the replay
// cache is asked (take), then kept until the entry's expiry (keep) or
// given back when the cache recorded nothing (give), so concurrent
// tokens never exceed either bound and no lock is held while the cache
// is asked (it may be a network store). The counts are not saved: after
// a restart, or a reload (which builds a new Verifier), the tokens used
// before are still refused as replays but count for nobody.
//
// Memory: a map entry per user and per client holding slots and 32
// bytes per kept slot, each slot standing for a replay cache entry;
// every take first drops the slots expired, so what is held never
// outgrows the cache's own unexpired entries plus the slots being
// checked.
type replayShares struct {
	perUser, perClient int32
	seed               maphash.Seed

	mu      sync.Mutex
	users   map[uint64]int32 // user -> slots taken and not yet expired or given back
	clients map[uint64]int32 // client network -> the same
	// The kept slots by expiry, one entry in each heap a slot: its user's
	// and its client network's, released at the same instant.
	userKept, clientKept expiry.Heap
}

func newReplayShares(perUser, perClient int) *replayShares {
	return &replayShares{perUser: int32(perUser), perClient: int32(perClient), seed: maphash.MakeSeed(),
		users: make(map[uint64]int32), clients: make(map[uint64]int32)}
}

// shareKey names the two shares one token's slot counts in.
type shareKey struct {
	user   uint64 // the seeded hash of the user name as signed
	client uint64 // clientNet of the address it was sent from
}

// key is the shares a token of user sent from client counts in.
func (s *replayShares) key(user string, client netip.Addr) shareKey {
	return shareKey{user: maphash.String(s.seed, user), client: clientNet(client)}
}

// Client networks: an IPv4 /24 and an IPv6 /48 are what one party
// commonly holds whole (a hosting customer's or a tunnel broker's IPv6
// allocation is a /48 or a /56 in one; a /64 per host would give it
// 65 536 shares), and what several unrelated users behind one carrier
// NAT or one office share, which the per-client share must allow for.
const (
	clientNetBits4 = 24
	clientNetBits6 = 48
)

// clientNet is the client network of a, packed exactly (no two networks
// share a value): a tag in the top two bits (0 no address, 1 IPv4,
// 2 IPv6) over the network's leading bits. IPv4-mapped IPv6 addresses
// are IPv4, so a dual-stack listener cannot move a client to another
// share; zones are ignored.
func clientNet(a netip.Addr) uint64 {
	if !a.IsValid() {
		return 0
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return 1<<62 | (uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]))>>(32-clientNetBits4)
	}
	b := a.As16()
	var hi uint64
	for _, c := range b[:8] {
		hi = hi<<8 | uint64(c)
	}
	return 2<<62 | hi>>(64-clientNetBits6)
}

// take takes one slot of k's shares at now (Unix nanoseconds). It
// returns "" when taken, or the sub-reason of the share that is full:
// SubReplayUserLimit when the user holds perUser, else
// SubReplayClientLimit when the client network holds perClient.
func (s *replayShares) take(k shareKey, now int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.userKept) > 0 && s.userKept[0].At <= now {
		drop(s.users, s.userKept.Pop().Key)
	}
	for len(s.clientKept) > 0 && s.clientKept[0].At <= now {
		drop(s.clients, s.clientKept.Pop().Key)
	}
	switch {
	case s.users[k.user] >= s.perUser:
		return SubReplayUserLimit
	case s.clients[k.client] >= s.perClient:
		return SubReplayClientLimit
	}
	s.users[k.user]++
	s.clients[k.client]++
	return ""
}

// keep holds a slot take gave until at, when its replay entry expires.
func (s *replayShares) keep(k shareKey, at int64) {
	s.mu.Lock()
	s.userKept.Push(expiry.Entry{Key: k.user, At: at})
	s.clientKept.Push(expiry.Entry{Key: k.client, At: at})
	s.mu.Unlock()
}

// give gives back a slot take gave, for a token the cache did not record.
func (s *replayShares) give(k shareKey) {
	s.mu.Lock()
	drop(s.users, k.user)
	drop(s.clients, k.client)
	s.mu.Unlock()
}

func drop(m map[uint64]int32, k uint64) {
	if n := m[k] - 1; n > 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}
