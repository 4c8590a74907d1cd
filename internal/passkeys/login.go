package passkeys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
)

// LoginResult describes a passed assertion, for the audit line.
type LoginResult struct {
	CredentialID []byte
	SignCount    uint32
	UserVerified bool
	// CloneWarning is true only when Config.AllowCloneWarning let a
	// sign-count regression through.
	CloneWarning bool
}

// HasCredentials reports whether user has a passkey, so the Caddy module can
// offer the factor (or another one).
func (p *Passkeys) HasCredentials(ctx context.Context, user string) (bool, error) {
	rec, found, err := p.load(ctx, user)
	return found && len(rec.Credentials) > 0, err
}

// BeginLogin returns the assertion options for user's passkeys and the
// ceremony id for FinishLogin. The user is the one the step-up state
// names.
func (p *Passkeys) BeginLogin(ctx context.Context, user string) (*protocol.CredentialAssertion, string, error) {
	return p.beginAssertion(ctx, kindLogin, user)
}

// beginAssertion starts a ceremony of kind asking for one of user's
// passkeys.
func (p *Passkeys) beginAssertion(ctx context.Context, kind ceremonyKind, user string) (*protocol.CredentialAssertion, string, error) {
	rec, found, err := p.load(ctx, user)
	if err != nil {
		return nil, "", err
	}
	if !found || len(rec.Credentials) == 0 {
		return nil, "", refused(ReasonNoCredentials, nil)
	}
	opts, session, err := p.wa.BeginLogin(waUser{name: user, rec: &rec})
	if err != nil {
		return nil, "", err
	}
	id, err := p.ceremonies.put(kind, user, clientOf(ctx), *session)
	if err != nil {
		return nil, "", err
	}
	return opts, id, nil
}

// FinishLogin verifies the browser's assertion (the body of r) for user
// and records the new sign count. A sign count that did not grow marks
// the credential as possibly cloned and refuses (see AllowCloneWarning).
func (p *Passkeys) FinishLogin(ctx context.Context, ceremonyID, user string, r *http.Request) (LoginResult, error) {
	return p.finishAssertion(ctx, kindLogin, ceremonyID, user, r)
}

// finishAssertion verifies an assertion of a ceremony of kind begun for
// user, and records the new sign count.
func (p *Passkeys) finishAssertion(ctx context.Context, kind ceremonyKind, ceremonyID, user string, r *http.Request) (LoginResult, error) {
	c, ok := p.ceremonies.take(ceremonyID)
	if !ok {
		return LoginResult{}, refused(ReasonCeremonyUnknown, nil)
	}
	if c.kind != kind || c.user != user {
		return LoginResult{}, refused(ReasonCeremonyMismatch, nil)
	}
	body, err := p.readBody(r)
	if err != nil {
		return LoginResult{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return LoginResult{}, refused(ReasonMalformed, err)
	}
	var out LoginResult
	err = p.locked(ctx, user, func() error {
		rec, found, err := p.load(ctx, user)
		if err != nil {
			return err
		}
		if !found {
			return refused(ReasonNoCredentials, nil)
		}
		cred, err := p.wa.ValidateLogin(waUser{name: user, rec: &rec}, c.session, parsed)
		if err != nil {
			return refused(ReasonInvalidResponse, err)
		}
		i := indexOf(rec, cred.ID)
		if i < 0 {
			return refused(ReasonNoCredentials, nil)
		}
		if cred.Authenticator.CloneWarning {
			// Keep the stored count: the regression is the evidence.
			rec.Credentials[i].Authenticator.CloneWarning = true
			if err := p.save(ctx, user, rec); err != nil {
				return err
			}
			if !p.cfg.AllowCloneWarning {
				return refused(ReasonCloneWarning, nil)
			}
		} else {
			rec.Credentials[i].Authenticator.SignCount = cred.Authenticator.SignCount
			rec.Credentials[i].Flags = cred.Flags
			if err := p.save(ctx, user, rec); err != nil {
				return err
			}
		}
		out = LoginResult{
			CredentialID: cred.ID,
			SignCount:    cred.Authenticator.SignCount,
			UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
			CloneWarning: cred.Authenticator.CloneWarning,
		}
		return nil
	})
	return out, err
}

// CredentialDigestLen is the length of a CredentialDigest.
const CredentialDigestLen = 16

// CredentialDigest names a passkey in a cookie: the first 16 bytes of the
// SHA-256 of its credential id, which may be up to 1 023 bytes long.
// CheckPassedDigest finds the passkey by it. 128 bits are ample: a
// collision would have to be with another passkey of the same account.
func CredentialDigest(credentialID []byte) []byte {
	sum := sha256.Sum256(credentialID)
	return sum[:CredentialDigestLen]
}

// CheckPassedDigest says whether the passkey whose CredentialDigest is
// digest, which passed an assertion for user, still stands: refused with
// ReasonCredentialRemoved once it is no longer stored (an admin removed
// it), with ReasonCloneWarning once it is marked as possibly cloned
// (unless AllowCloneWarning). The step-up's factor token, continuation
// and resubmit pass carry the digest; the step-up route asks when the
// step-up is completed and the login route when it spends the others,
// so removing a stolen passkey also stops a step-up it already passed.
func (p *Passkeys) CheckPassedDigest(ctx context.Context, user string, digest []byte) error {
	rec, _, err := p.load(ctx, user)
	if err != nil {
		return err
	}
	var id []byte
	for _, c := range rec.Credentials {
		if len(digest) == CredentialDigestLen && bytes.Equal(CredentialDigest(c.ID), digest) {
			id = c.ID
			break
		}
	}
	return p.stands(rec, id, ReasonCredentialRemoved, ReasonCloneWarning)
}

// stands checks that the passkey credentialID is stored in rec and not
// marked as possibly cloned (unless AllowCloneWarning): otherwise it is
// refused with the reason removed, or clone.
func (p *Passkeys) stands(rec record, credentialID []byte, removed, clone string) error {
	i := indexOf(rec, credentialID)
	if len(credentialID) == 0 || i < 0 {
		return refused(removed, nil)
	}
	if rec.Credentials[i].Authenticator.CloneWarning && !p.cfg.AllowCloneWarning {
		return refused(clone, nil)
	}
	return nil
}

// Credential is what the admin API shows of a stored passkey: never its
// public key.
type Credential struct {
	ID           []byte
	SignCount    uint32
	CloneWarning bool
}

// Credentials lists user's passkeys, so an admin can find the one to
// remove: a lost device, or one a sign-count regression marked.
func (p *Passkeys) Credentials(ctx context.Context, user string) ([]Credential, error) {
	rec, _, err := p.load(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]Credential, 0, len(rec.Credentials))
	for _, c := range rec.Credentials {
		out = append(out, Credential{ID: c.ID, SignCount: c.Authenticator.SignCount, CloneWarning: c.Authenticator.CloneWarning})
	}
	return out, nil
}

// RemoveCredential deletes one of user's passkeys (the admin's answer to a
// lost device or a clone warning). Removing an unknown id is not an error.
// Removing the last one marks the account (EnrolLinkRequired): whoever
// used the removed passkey may know the password too, and a clean sign-in
// alone would register a first passkey again; an enrolment link must.
func (p *Passkeys) RemoveCredential(ctx context.Context, user string, credentialID []byte) error {
	return p.locked(ctx, user, func() error {
		rec, found, err := p.load(ctx, user)
		if err != nil || !found {
			return err
		}
		i := indexOf(rec, credentialID)
		if i < 0 {
			return nil
		}
		rec.Credentials = append(rec.Credentials[:i], rec.Credentials[i+1:]...)
		if len(rec.Credentials) == 0 {
			rec.EnrolLinkRequired = true
		}
		return p.save(ctx, user, rec)
	})
}

// EnrolLinkRequired reports whether user's account is marked so that its
// next enrolment needs an enrolment link (an admin removed its last
// passkey, or its LoginID record when it had no passkey).
func (p *Passkeys) EnrolLinkRequired(ctx context.Context, user string) (bool, error) {
	rec, _, err := p.load(ctx, user)
	return rec.EnrolLinkRequired, err
}

// SetEnrolLinkRequired sets or clears that mark on the operator's word:
// set, for an account whose passkey or password the operator believes
// taken (one emptied before removals marked, or one that never had a
// passkey); cleared, to let a clean sign-in enrol it again. changed is
// false when the account already was so. Setting it on an account with
// no record creates one.
func (p *Passkeys) SetEnrolLinkRequired(ctx context.Context, user string, required bool) (changed bool, err error) {
	err = p.locked(ctx, user, func() error {
		rec, err := p.loadOrNew(ctx, user)
		if err != nil || rec.EnrolLinkRequired == required {
			return err
		}
		rec.EnrolLinkRequired, changed = required, true
		return p.save(ctx, user, rec)
	})
	return changed, err
}

func indexOf(rec record, id []byte) int {
	for i, c := range rec.Credentials {
		if bytes.Equal(c.ID, id) {
			return i
		}
	}
	return -1
}
