package request

import (
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/login-guard/login_guard/internal/formbody"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// ReasonReplayDenied marks, in the audit line beside the reasons of the
// rule that refused it, a held login that was not replayed: its user
// passed the step-up, but the route now refuses its address (a deny_ip
// a reload added) or a lockout now holds for its user or address.
const ReasonReplayDenied = "step_up_replay_denied"

// RecheckHeld judges a held login once more before it is replayed, with
// what can be checked without counting it again (its rate, spray and
// spread counts were taken when it was judged; CountHeldOutcome has its
// outcome counted): the route's allow_ip and deny_ip and the rules' IP
// lists, and whether a lockout now holds for its user or address (a peek
// at the counters: nothing recorded, no slot taken). It judges two
// addresses when they differ: held, the address the login came from (the
// held entry's Client; zero for an entry held by an older version), and
// the continuation's (x.Attempt.IP). The state binds the continuation
// only to held's prefix (step_up ip_prefix, IPv6 /64 by default), so
// judging the continuation's alone would let a deny_ip or a lockout of
// the login's own address be sidestepped from another address of the
// prefix. An address allow_ip lists passes on its own, as on any request;
// either address refused refuses the replay. It returns false, with the
// refusing rules' reasons and ReasonReplayDenied added to the verdict (a
// deny), when the login must not reach the upstream; a lockout whose
// action is challenge does not refuse it, since its user has just passed
// a step-up.
func (x *Exchange) RecheckHeld(held netip.Addr) bool {
	var v rules.Verdict
	x.recheckAddr(x.Attempt.IP, &v)
	if held.IsValid() && held != x.Attempt.IP {
		x.recheckAddr(held, &v)
	}
	if v.Action != rules.Deny {
		return true
	}
	x.Verdict.Merge(v)
	x.Verdict.Add(rules.Deny, ReasonReplayDenied)
	return false
}

// recheckAddr is RecheckHeld's judgement of the attempt as if it came
// from ip, merged into v.
func (x *Exchange) recheckAddr(ip netip.Addr, v *rules.Verdict) {
	rt := x.Route
	switch {
	case ip.IsValid() && rt.AllowIP.Len() > 0 && rt.AllowIP.Contains(ip):
	case ip.IsValid() && rt.DenyIP.Len() > 0 && rt.DenyIP.Contains(ip):
		v.Add(rules.Deny, rules.ReasonIPDenied)
	case rt.Rules != nil:
		a := x.Attempt
		a.IP = ip
		rt.Rules.policy.Recheck(x.Ctx, &a, v)
	}
}

// CountHeldOutcome readies a held login, about to be replayed to the
// upstream (or a withheld answer about to be released), to have the
// upstream's answer counted once, as any login's is: ObserveOutcome then
// counts a failure against its lockout keys or lets a success reset them
// (Finish, without an outcome, counts nothing). Its challenge counted no
// outcome (the slots it had reserved were given back when it was
// challenged) and the replay reserves none: a lockout that now holds was
// checked by RecheckHeld. The keys are those the login was counted under
// at its challenge: its user and held, the address it came from (the
// continuation's when held is zero, an entry held by an older version),
// never the continuation's address. An address the route's allow_ip or
// deny_ip lists is not counted, as on the first pass. The counters are
// touched only when the outcome is known.
func (x *Exchange) CountHeldOutcome(held netip.Addr) {
	rt, a := x.Route, x.Attempt
	if held.IsValid() {
		a.IP = held
	}
	if rt.Rules == nil || !rt.Rules.policy.TakesSlots() || x.rulesTicket != nil {
		return
	}
	if ip := a.IP; ip.IsValid() && (rt.AllowIP.Len() > 0 && rt.AllowIP.Contains(ip) || rt.DenyIP.Len() > 0 && rt.DenyIP.Contains(ip)) {
		return
	}
	t := ticketPool.Get().(*rules.Ticket)
	if x.rulesTicket = rt.Rules.policy.OutcomeTicket(&a, t); x.rulesTicket == nil {
		ticketPool.Put(t)
	}
}

// HeldRequest rebuilds a held login on top of the continuation request r:
// method, URL, headers and body of the original; cookies of now, without
// the guard's step-up cookies. Its body reads held.Body itself, through
// the HeldBody returned (nil when the login had no body), which the
// caller wipes once the replay is over; read it with ParseHeld.
func HeldRequest(r *http.Request, held stepup.Request) (*http.Request, *HeldBody, error) {
	u, err := url.ParseRequestURI(held.URL)
	if err != nil {
		return nil, nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Method = held.Method
	// The continuation came back to the URL the login was sent to, so
	// its RequestURI (what logs show) is that one already.
	r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	hdr := held.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	var kept []string
	for _, c := range r.Cookies() {
		if !IsStepCookie(c.Name) {
			kept = append(kept, c.Name+"="+c.Value)
		}
	}
	hdr.Del("Cookie")
	if len(kept) > 0 {
		hdr.Set("Cookie", strings.Join(kept, "; "))
	}
	hdr.Del("Transfer-Encoding")
	r2.TransferEncoding = nil
	r2.Header = hdr
	r2.ContentLength = int64(len(held.Body))
	var body *HeldBody
	if len(held.Body) > 0 {
		hdr.Set("Content-Length", strconv.Itoa(len(held.Body)))
		body = &HeldBody{b: held.Body}
		r2.Body = body
	} else {
		hdr.Del("Content-Length")
		r2.Body = http.NoBody
	}
	return r2, body, nil
}

// ParseHeld reads the fields of a replayed held login r (from
// HeldRequest) as ParseRequest reads a login's, but the parser keeps no
// copy of the body (formbody.ParseHeldRequest: its memory is zeroed, the
// fields own their strings), and r.Body is then body again, from its
// start: the upstream reads the held bytes themselves, which body.Wipe
// zeroes once the replay is over. An ordinary login cannot do the same:
// the parser's memory is the body its upstream reads, and nothing wipes
// it.
func ParseHeld(r *http.Request, body *HeldBody, max int64, spec formbody.Spec) (formbody.Fields, error) {
	f, err := formbody.ParseHeldRequest(r, max, spec)
	if body != nil {
		body.mu.Lock()
		body.off = 0
		body.mu.Unlock()
		r.Body = body
	}
	return f, err
}

// ErrHeldBodyWiped is what a read of a HeldBody gets once it is wiped.
var ErrHeldBodyWiped = errors.New("login_guard: held login body read after the replay ended")

// HeldBody is the body a held login is replayed with: the decrypted bytes
// of the held entry, read under a lock that Wipe takes too. Wipe zeroes
// them; a read that comes after gets ErrHeldBodyWiped, never a body half
// zeroed, and no read runs while they are zeroed. That makes the wipe
// safe whoever still holds the body when the replay ends: Go's
// http.Transport may go on writing a request body after RoundTrip
// returned (an upstream that answered before reading it all), and
// reverse_proxy leaves the closing of the body to the server, so neither
// the next handler's return nor a Close says the last read is done; as
// with the body Go's server hands a handler, which it closes once the
// handler returns, a late read fails instead. Close does nothing: the
// bytes are the guard's, and Wipe ends them.
type HeldBody struct {
	mu    sync.Mutex
	b     []byte
	off   int
	wiped bool
}

// Read implements io.Reader.
func (b *HeldBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wiped {
		return 0, ErrHeldBodyWiped
	}
	if b.off >= len(b.b) {
		return 0, io.EOF
	}
	n := copy(p, b.b[b.off:])
	b.off += n
	return n, nil
}

// Close implements io.Closer; it does nothing.
func (b *HeldBody) Close() error { return nil }

// Wipe zeroes the body; reads fail from then on. A nil body does nothing.
func (b *HeldBody) Wipe() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.b)
	b.wiped = true
}
