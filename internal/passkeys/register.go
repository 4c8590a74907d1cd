package passkeys

import (
	"bytes"
	"context"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Registered describes a newly stored passkey, for the audit line.
type Registered struct {
	User         string
	CredentialID []byte
	// ViaToken is true when an enrolment token (now spent) allowed it.
	ViaToken bool
}

// BeginRegistration checks the proofs (MayEnroll) and returns the
// creation options to send to the browser as JSON, and the ceremony id
// to keep in a cookie for FinishRegistration. The user comes from the
// proof, never from the request.
func (p *Passkeys) BeginRegistration(ctx context.Context, proofs ...Proof) (*protocol.CredentialCreation, string, error) {
	g, err := p.mayEnroll(ctx, proofs)
	if err != nil {
		return nil, "", err
	}
	var rec record
	// The handle must exist before the options name it, and two
	// concurrent first registrations must agree on it: create it under
	// the lock.
	err = p.locked(ctx, g.user, func() error {
		r, found, err := p.load(ctx, g.user)
		if err != nil {
			return err
		}
		if !found {
			if r, err = newRecord(); err != nil {
				return err
			}
			if err := p.save(ctx, g.user, r); err != nil {
				return err
			}
		}
		rec = r
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(rec.Credentials) >= p.cfg.MaxCredentials {
		return nil, "", refused(ReasonTooManyCredentials, nil)
	}
	user := waUser{name: g.user, rec: &rec}
	opts, session, err := p.wa.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(rec.Credentials).CredentialDescriptors()))
	if err != nil {
		return nil, "", err
	}
	id, err := p.ceremonies.put(kindRegister, g.user, clientOf(ctx), *session)
	if err != nil {
		return nil, "", err
	}
	return opts, id, nil
}

// FinishRegistration verifies the browser's attestation (the body of r,
// as the script posts it), re-checks the proofs, and stores the new
// credential. An enrolment token that allowed it is spent here, in the
// same locked write, so a link registers one passkey.
func (p *Passkeys) FinishRegistration(ctx context.Context, ceremonyID string, r *http.Request, proofs ...Proof) (Registered, error) {
	c, ok := p.ceremonies.take(ceremonyID)
	if !ok {
		return Registered{}, refused(ReasonCeremonyUnknown, nil)
	}
	g, err := p.mayEnroll(ctx, proofs)
	if err != nil {
		return Registered{}, err
	}
	if c.kind != kindRegister || c.user != g.user {
		return Registered{}, refused(ReasonCeremonyMismatch, nil)
	}
	body, err := p.readBody(r)
	if err != nil {
		return Registered{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return Registered{}, refused(ReasonMalformed, err)
	}
	var out Registered
	err = p.locked(ctx, g.user, func() error {
		rec, found, err := p.load(ctx, g.user)
		if err != nil {
			return err
		}
		if !found {
			return refused(ReasonCeremonyMismatch, nil)
		}
		cred, err := p.wa.CreateCredential(waUser{name: g.user, rec: &rec}, c.session, parsed)
		if err != nil {
			return refused(ReasonInvalidResponse, err)
		}
		if len(rec.Credentials) >= p.cfg.MaxCredentials {
			return refused(ReasonTooManyCredentials, nil)
		}
		if err := p.grantStands(rec, g); err != nil {
			return err
		}
		for _, have := range rec.Credentials {
			if bytes.Equal(have.ID, cred.ID) {
				return refused(ReasonDuplicateCredential, nil)
			}
		}
		if g.tokenID != "" {
			if err := spend(&rec, g, p.cfg.Now()); err != nil {
				return err
			}
		}
		rec.Credentials = append(rec.Credentials, *cred)
		if err := p.save(ctx, g.user, rec); err != nil {
			return err
		}
		out = Registered{User: g.user, CredentialID: cred.ID, ViaToken: g.tokenID != ""}
		return nil
	})
	return out, err
}
