package passkeys

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
)

// BeginConfirm starts an assertion with one of the account's passkeys, so
// that a person signed in to an account that has one can add another
// (see ConfirmProof). The proofs must allow enrolment but for that
// confirmation: a clean, recent sign-in and no step-up pending. The
// account is the sign-in's, never taken from the request.
func (p *Passkeys) BeginConfirm(ctx context.Context, proofs ...Proof) (*protocol.CredentialAssertion, string, error) {
	user, err := p.ConfirmUser(proofs...)
	if err != nil {
		return nil, "", err
	}
	return p.beginAssertion(ctx, kindConfirm, user)
}

// FinishConfirm verifies BeginConfirm's assertion (the body of r) and
// returns a token for a ConfirmProof, valid for ConfirmTTL. The token
// names the passkey that confirmed: it allows a registration only while
// that passkey is still enrolled and unmarked (checkConfirmed).
func (p *Passkeys) FinishConfirm(ctx context.Context, ceremonyID string, r *http.Request, proofs ...Proof) (string, error) {
	user, err := p.ConfirmUser(proofs...)
	if err != nil {
		return "", err
	}
	if p.cfg.Tokens == nil {
		return "", errors.New("passkeys: confirmations need token keys")
	}
	res, err := p.finishAssertion(ctx, kindConfirm, ceremonyID, user, r)
	if err != nil {
		return "", err
	}
	return p.cfg.Tokens.Seal(PurposeEnrolConfirm, confirmClaims{User: user, Credential: res.CredentialID}, p.cfg.Now(), ConfirmTTL)
}

// ConfirmUser is the account a confirmation is for: the user of a
// SessionProof that allows enrolment on its own terms (not challenged,
// accepted, recent), with no step-up pending. An enrolment link needs no
// confirmation, so it names no account to confirm here.
func (p *Passkeys) ConfirmUser(proofs ...Proof) (string, error) {
	var found *SessionProof
	for _, pr := range proofs {
		switch pr := pr.(type) {
		case StepUpProof:
			return "", refused(ReasonEnrolDuringChallenge, nil)
		case SessionProof:
			found = &pr
		}
	}
	if found == nil {
		return "", refused(ReasonEnrolNoProof, nil)
	}
	g, err := p.checkSession(*found)
	if err != nil {
		return "", err
	}
	return g.user, nil
}
