package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"
)

// Proof is something a request presents to be allowed to enrol a passkey.
// The concrete types are SessionProof, EnrolTokenProof, ConfirmProof and
// StepUpProof.
type Proof interface{ enrolProof() }

// SessionProof is the guard's own session, as the Caddy module decoded it from its
// session cookie.
type SessionProof struct {
	User string
	// Challenged is true when the login that opened the session was
	// challenged (even if the challenge was then passed): an attacker who
	// passed a weak factor must not turn it into a passkey.
	Challenged bool
	// UpstreamAccepted is true when the portal accepted the login.
	UpstreamAccepted bool
	// LoginAt is when that login happened.
	LoginAt time.Time
}

// EnrolTokenProof is a one-time enrolment token from the admin API
// (IssueEnrolToken).
type EnrolTokenProof struct{ Token string }

// StepUpProof says a step-up is pending for this browser (a step-up state
// rode along). It never allows enrolment, and it vetoes any other proof:
// during a challenge the person at the keyboard has only shown the
// password.
type StepUpProof struct{ User string }

// ConfirmProof is FinishConfirm's token: the person enrolling has just
// used one of the account's passkeys. With a SessionProof for the same
// account it allows adding another passkey to an account that has one; a
// session alone does not, or whoever has the password and gets one clean
// sign-in would add their own authenticator beside the owner's and pass
// every later step-up with it. It allows it only while the passkey that
// made it is still enrolled and unmarked: removing a stolen passkey also
// stops a registration it confirmed.
type ConfirmProof struct{ Token string }

func (SessionProof) enrolProof()    {}
func (EnrolTokenProof) enrolProof() {}
func (ConfirmProof) enrolProof()    {}
func (StepUpProof) enrolProof()     {}

// PurposeEnrolConfirm is the token purpose of FinishConfirm's tokens, and
// ConfirmTTL their lifetime: enough to go on to the registration prompt.
const (
	PurposeEnrolConfirm = "passkey_enrol_confirm"
	ConfirmTTL          = 5 * time.Minute
)

type confirmClaims struct {
	User string `json:"u"`
	// Credential is the passkey that confirmed. A token sealed by a
	// release before it was recorded has none, and is taken without the
	// look-up (for its ConfirmTTL, during an upgrade).
	Credential []byte `json:"c,omitempty"`
}

// PurposeEnrol is the token purpose of enrolment links.
const PurposeEnrol = "passkey_enrol"

type enrolClaims struct {
	User string `json:"u"`
	ID   string `json:"id"`
}

// grant is what an accepted proof allows.
type grant struct {
	user    string
	tokenID string // set when the grant came from an enrolment token
	tokenTo time.Time
	// bySession: the grant came from a sign-in, which adds a passkey to
	// an account that has one only when confirmed (a ConfirmProof for the
	// same account rode along). FinishRegistration checks it again under
	// the account's lock.
	bySession, confirmed bool
	// confirmedBy is the passkey that made that confirmation (nil for a
	// confirmation that names none): FinishRegistration checks under the
	// account's lock that it is still enrolled and unmarked.
	confirmedBy []byte
}

// IssueEnrolToken mints a one-time enrolment token for user, valid for
// ttl. The admin API puts it in a link; the token is spent by the first
// successful registration.
func (p *Passkeys) IssueEnrolToken(user string, ttl time.Duration) (string, error) {
	if p.cfg.Tokens == nil {
		return "", errors.New("passkeys: enrolment tokens need token keys")
	}
	if user == "" || ttl <= 0 || ttl > MaxEnrolTokenTTL {
		return "", errors.New("passkeys: enrolment token needs a user and a lifetime up to 7 days")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return p.cfg.Tokens.Seal(PurposeEnrol, enrolClaims{User: user, ID: base64.RawURLEncoding.EncodeToString(b[:])}, p.cfg.Now(), ttl)
}

// MayEnroll decides whether the proofs a request carries allow it to
// register a passkey, and for which user. The rule:
//   - any StepUpProof refuses (enrol_during_challenge);
//   - proofs naming different accounts (as UserKey keys them) refuse
//     (enrol_user_conflict);
//   - a SessionProof allows when its login was not challenged, the upstream
//     accepted it, and it is within EnrolWindow; for an account that
//     already has a passkey, only with a ConfirmProof for the same account
//     (else enrol_needs_passkey) made by a passkey it still has, unmarked
//     (else enrol_confirm_credential_removed, enrol_confirm_clone_warning);
//     never for an account an admin removal marked (EnrolLinkRequired:
//     enrol_needs_link), nor for one whose only way to confirm a sign-in
//     is a LoginID record (enrol_loginid_needs_link);
//   - an EnrolTokenProof allows when the token opens and was not spent; the
//     enrolment it allows clears that mark.
//
// Without an allowing proof the reason of the first failing one is
// returned, or enrol_no_proof.
func (p *Passkeys) MayEnroll(ctx context.Context, proofs ...Proof) (string, error) {
	g, err := p.mayEnroll(ctx, proofs)
	return g.user, err
}

func (p *Passkeys) mayEnroll(ctx context.Context, proofs []Proof) (grant, error) {
	users := map[string]bool{}
	for _, pr := range proofs {
		switch pr := pr.(type) {
		case StepUpProof:
			return grant{}, refused(ReasonEnrolDuringChallenge, nil)
		case SessionProof:
			if pr.User != "" {
				users[p.cfg.UserKey(pr.User)] = true
			}
		}
	}
	var (
		found    grant
		ok       bool
		firstErr error
	)
	note := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, pr := range proofs {
		var (
			g   grant
			err error
		)
		switch pr := pr.(type) {
		case SessionProof:
			g, err = p.checkSession(pr)
			if err == nil {
				err = p.checkConfirmed(ctx, &g, proofs)
			}
		case ConfirmProof:
			continue // not a grant of its own: see checkConfirmed
		case EnrolTokenProof:
			g, err = p.checkEnrolToken(ctx, pr)
			if err == nil {
				users[p.cfg.UserKey(g.user)] = true
			}
		default:
			err = refused(ReasonEnrolNoProof, nil)
		}
		if err != nil {
			if ReasonOf(err) == "" {
				return grant{}, err // storage failure: not the client's doing
			}
			note(err)
			continue
		}
		// A session grant is preferred: it spends nothing.
		if !ok || (found.tokenID != "" && g.tokenID == "") {
			found, ok = g, true
		}
	}
	if len(users) > 1 {
		return grant{}, refused(ReasonEnrolUserConflict, nil)
	}
	if ok {
		return found, nil
	}
	if firstErr != nil {
		return grant{}, firstErr
	}
	return grant{}, refused(ReasonEnrolNoProof, nil)
}

func (p *Passkeys) checkSession(s SessionProof) (grant, error) {
	switch {
	case s.User == "":
		return grant{}, refused(ReasonEnrolNoProof, nil)
	case s.Challenged:
		return grant{}, refused(ReasonEnrolChallengedLogin, nil)
	case !s.UpstreamAccepted:
		return grant{}, refused(ReasonEnrolNotAccepted, nil)
	}
	now := p.cfg.Now()
	if s.LoginAt.IsZero() || now.Sub(s.LoginAt) > p.cfg.EnrolWindow || s.LoginAt.After(now.Add(time.Minute)) {
		return grant{}, refused(ReasonEnrolStaleSession, nil)
	}
	return grant{user: s.User}, nil
}

// checkConfirmed refuses a session grant for an account that already has
// a passkey unless one of the proofs is a confirmation for the same
// account (names compared as storage keys them: UserKey). A confirmation
// whose passkey is no longer enrolled (an admin removed it), or is marked
// as possibly cloned since, is refused for what it is
// (enrol_confirm_credential_removed, enrol_confirm_clone_warning), even
// if the account has no passkey left. One that names no passkey (sealed
// by a release before they did) is taken without the look-up (the locked
// write checks the record: grantStands). An account an admin removal
// marked (EnrolLinkRequired) is refused to a sign-in (enrol_needs_link),
// and so is one with a LoginID record and no passkey
// (enrol_loginid_needs_link): that credential is a way to confirm a
// sign-in the guard cannot ask, and a password alone must not add a
// passkey beside it.
func (p *Passkeys) checkConfirmed(ctx context.Context, g *grant, proofs []Proof) error {
	g.bySession = true
	var conf *confirmClaims
	for _, pr := range proofs {
		if c, ok := pr.(ConfirmProof); ok {
			if claims, ok := p.confirmationFor(c, g.user); ok {
				conf = &claims
				break
			}
		}
	}
	if conf != nil && len(conf.Credential) == 0 {
		g.confirmed = true
		return nil
	}
	rec, found, err := p.load(ctx, g.user)
	if err != nil {
		return err
	}
	if conf != nil {
		if err := p.stands(rec, conf.Credential, ReasonEnrolConfirmRemoved, ReasonEnrolConfirmCloneWarning); err != nil {
			return err
		}
		g.confirmed, g.confirmedBy = true, conf.Credential
	}
	if rec.EnrolLinkRequired {
		return refused(ReasonEnrolNeedsLink, nil)
	}
	if !g.confirmed && found && len(rec.Credentials) > 0 {
		return refused(ReasonEnrolNeedsPasskey, nil)
	}
	if found && len(rec.Credentials) == 0 && rec.LoginID != nil {
		return refused(ReasonEnrolLoginIDNeedsLink, nil)
	}
	return nil
}

// grantStands checks a sign-in's grant again in rec as read under the
// account's lock, before an enrolment is written: no passkey was added
// since the proofs were checked (else one must confirm), an admin did not
// mark the account for an enrolment link since (nor while a confirmation
// that names no passkey skipped the look-up), and the passkey that
// confirmed g, if it names one, is still enrolled and unmarked (an admin
// may have removed it since), and no LoginID record was added to an
// account without a passkey since. A link's grant passes: spend checks it.
func (p *Passkeys) grantStands(rec record, g grant) error {
	if !g.bySession {
		return nil
	}
	if !g.confirmed && len(rec.Credentials) > 0 {
		return refused(ReasonEnrolNeedsPasskey, nil)
	}
	if g.confirmedBy != nil {
		if err := p.stands(rec, g.confirmedBy, ReasonEnrolConfirmRemoved, ReasonEnrolConfirmCloneWarning); err != nil {
			return err
		}
	}
	if rec.EnrolLinkRequired {
		return refused(ReasonEnrolNeedsLink, nil)
	}
	if len(rec.Credentials) == 0 && rec.LoginID != nil {
		return refused(ReasonEnrolLoginIDNeedsLink, nil)
	}
	return nil
}

// spend records in rec, read under the account's lock, that the
// enrolment link of g is used, unless it was already; the enrolment it
// allows clears the account's EnrolLinkRequired mark.
func spend(rec *record, g grant, now time.Time) error {
	if spent(*rec, g.tokenID, now) {
		return refused(ReasonEnrolTokenSpent, nil)
	}
	if rec.EnrolSpent == nil {
		rec.EnrolSpent = map[string]int64{}
	}
	rec.EnrolSpent[g.tokenID] = g.tokenTo.Unix()
	rec.EnrolLinkRequired = false
	return nil
}

// confirmationFor opens c as a live confirmation for user's account.
func (p *Passkeys) confirmationFor(c ConfirmProof, user string) (confirmClaims, bool) {
	var claims confirmClaims
	if p.cfg.Tokens == nil || c.Token == "" {
		return claims, false
	}
	if err := p.cfg.Tokens.Open(PurposeEnrolConfirm, c.Token, p.cfg.Now(), &claims); err != nil || claims.User == "" {
		return claims, false
	}
	return claims, p.cfg.UserKey(claims.User) == p.cfg.UserKey(user)
}

func (p *Passkeys) checkEnrolToken(ctx context.Context, t EnrolTokenProof) (grant, error) {
	if p.cfg.Tokens == nil || t.Token == "" {
		return grant{}, refused(ReasonEnrolTokenInvalid, nil)
	}
	var c enrolClaims
	if err := p.cfg.Tokens.Open(PurposeEnrol, t.Token, p.cfg.Now(), &c); err != nil || c.User == "" || c.ID == "" {
		return grant{}, refused(ReasonEnrolTokenInvalid, nil)
	}
	rec, found, err := p.load(ctx, c.User)
	if err != nil {
		return grant{}, err
	}
	if found && spent(rec, c.ID, p.cfg.Now()) {
		return grant{}, refused(ReasonEnrolTokenSpent, nil)
	}
	// The token's own expiry is sealed inside it; remember the id for the
	// longest an enrolment link may live so it cannot be replayed.
	return grant{user: c.User, tokenID: c.ID, tokenTo: p.cfg.Now().Add(MaxEnrolTokenTTL)}, nil
}

// MaxEnrolTokenTTL is the longest lifetime IssueEnrolToken accepts; spent
// token ids are remembered that long.
const MaxEnrolTokenTTL = 7 * 24 * time.Hour

func spent(rec record, id string, now time.Time) bool {
	exp, ok := rec.EnrolSpent[id]
	return ok && exp > now.Unix()
}
