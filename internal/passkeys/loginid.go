package passkeys

import (
	"context"
	"time"
)

// A LoginID DirectWeb token proves that LoginID authenticated a user
// name, not who registered the credential it authenticated: DirectWeb
// registers from the browser with a public API key, for any name that
// has no credential yet. So the guard keeps, in the user's record, that
// the user's LoginID credential was registered under the same enrolment
// rule as a passkey (MayEnroll: a clean, recent sign-in, confirmed with a
// passkey when the account has one, or an admin enrolment link; never
// during a step-up), or that the operator imported it (the admin API).
// The Caddy module accepts LoginID tokens only for users with such a
// record when the operator asks for it (loginid require_enrolment).
//
// One record per account: LoginID answers username_taken to a second
// registration under a name, and a credential LoginID's own "add
// authenticator" flow adds is authorised by the first. The record holds
// the name exactly as registered at LoginID, which compares names byte
// for byte: a token for another spelling of the account's name is not
// covered by it.

// LoginID record origins (LoginIDRecord.Via).
const (
	LoginIDViaSignIn    = "sign_in"
	LoginIDViaEnrolLink = "enrol_link"
	LoginIDViaImport    = "import"
)

// Refusal reasons of LoginID registrations.
const (
	// ReasonLoginIDRegistered: the account already has a LoginID record
	// (remove it through the admin API to register anew).
	ReasonLoginIDRegistered = "loginid_already_registered"
	// ReasonLoginIDOtherName: the account's record is for another
	// spelling of its name (ImportLoginID).
	ReasonLoginIDOtherName = "loginid_other_name"
)

// LoginIDRecord says that the account's LoginID credential, registered
// under User (exactly as LoginID has it), was seen registered under the
// enrolment rule (Via sign_in or enrol_link) or imported by the operator
// (import), at At.
type LoginIDRecord struct {
	User string    `json:"user"`
	Via  string    `json:"via"`
	At   time.Time `json:"at"`
	// Subject is the registration token's sub, when it had one: shown to
	// the operator, not compared.
	Subject string `json:"sub,omitempty"`
}

// MayRegisterLoginID decides whether the proofs a request carries allow
// it to register a LoginID credential, and for which user: what
// MayEnroll asks of a passkey (a passkey of the account confirms a
// sign-in's registration when the account has one), and the account has
// no LoginID record yet. The enrolment page asks it before the browser
// registers at LoginID, and RecordLoginID again after.
func (p *Passkeys) MayRegisterLoginID(ctx context.Context, proofs ...Proof) (string, error) {
	g, err := p.mayEnroll(ctx, proofs)
	if ReasonOf(err) == ReasonEnrolLoginIDNeedsLink {
		// The sign-in's account has a LoginID record (and no passkey):
		// what a second LoginID registration is told.
		return "", refused(ReasonLoginIDRegistered, nil)
	}
	if err != nil {
		return "", err
	}
	rec, found, err := p.load(ctx, g.user)
	if err != nil {
		return "", err
	}
	if found && rec.LoginID != nil {
		return "", refused(ReasonLoginIDRegistered, nil)
	}
	return g.user, nil
}

// RecordLoginID records that user registered their LoginID credential,
// once the caller has verified LoginID's registration token for exactly
// user (its signature, parties, freshness and first use). The proofs are
// checked again, under the account's lock: they must allow it for user,
// the account must still have no record, a passkey that confirmed it
// must still be enrolled and unmarked, and an enrolment link that
// allowed it is spent here, as a passkey registration spends it.
func (p *Passkeys) RecordLoginID(ctx context.Context, user, subject string, proofs ...Proof) (LoginIDRecord, error) {
	g, err := p.mayEnroll(ctx, proofs)
	if ReasonOf(err) == ReasonEnrolLoginIDNeedsLink {
		return LoginIDRecord{}, refused(ReasonLoginIDRegistered, nil)
	}
	if err != nil {
		return LoginIDRecord{}, err
	}
	if g.user != user {
		return LoginIDRecord{}, refused(ReasonCeremonyMismatch, nil)
	}
	var out LoginIDRecord
	err = p.locked(ctx, user, func() error {
		rec, err := p.loadOrNew(ctx, user)
		if err != nil {
			return err
		}
		if rec.LoginID != nil {
			return refused(ReasonLoginIDRegistered, nil)
		}
		if err := p.grantStands(rec, g); err != nil {
			return err
		}
		via := LoginIDViaSignIn
		if g.tokenID != "" {
			if err := spend(&rec, g, p.cfg.Now()); err != nil {
				return err
			}
			via = LoginIDViaEnrolLink
		}
		out = LoginIDRecord{User: user, Via: via, At: p.cfg.Now().UTC(), Subject: subject}
		rec.LoginID = &out
		return p.save(ctx, user, rec)
	})
	return out, err
}

// LoginIDEnrolled reports whether user has a LoginID record for exactly
// this spelling of the name (a token for another spelling is not covered).
func (p *Passkeys) LoginIDEnrolled(ctx context.Context, user string) (bool, error) {
	rec, found, err := p.load(ctx, user)
	if err != nil || !found || rec.LoginID == nil {
		return false, err
	}
	return rec.LoginID.User == user, nil
}

// LoginID is the account's LoginID record, nil when it has none.
func (p *Passkeys) LoginID(ctx context.Context, user string) (*LoginIDRecord, error) {
	rec, _, err := p.load(ctx, user)
	return rec.LoginID, err
}

// ImportLoginID records, on the operator's word, that user's LoginID
// credential is the user's own (one registered before the guard kept
// records, or through an enrolment of the operator's). created is false
// when the account already had a record for user; a record for another
// spelling of the name is refused (ReasonLoginIDOtherName): remove it
// first.
func (p *Passkeys) ImportLoginID(ctx context.Context, user string) (r LoginIDRecord, created bool, err error) {
	err = p.locked(ctx, user, func() error {
		rec, err := p.loadOrNew(ctx, user)
		if err != nil {
			return err
		}
		if rec.LoginID != nil {
			r = *rec.LoginID
			if r.User != user {
				return refused(ReasonLoginIDOtherName, nil)
			}
			return nil
		}
		r, created = LoginIDRecord{User: user, Via: LoginIDViaImport, At: p.cfg.Now().UTC()}, true
		rec.LoginID = &r
		return p.save(ctx, user, rec)
	})
	return r, created, err
}

// RemoveLoginID deletes the account's LoginID record (whatever spelling
// it holds); removed is false when there was none. Once removed, the
// account's LoginID tokens are refused where records are required, until
// a new registration under the enrolment rule, or an import. An account
// left with no passkey is marked as RemoveCredential marks it
// (EnrolLinkRequired): a sign-in alone would otherwise register the
// credential of whoever registered the removed one; one with a passkey
// needs that passkey's confirmation already.
func (p *Passkeys) RemoveLoginID(ctx context.Context, user string) (removed bool, err error) {
	err = p.locked(ctx, user, func() error {
		rec, found, err := p.load(ctx, user)
		if err != nil || !found || rec.LoginID == nil {
			return err
		}
		rec.LoginID, removed = nil, true
		if len(rec.Credentials) == 0 {
			rec.EnrolLinkRequired = true
		}
		return p.save(ctx, user, rec)
	})
	return removed, err
}
