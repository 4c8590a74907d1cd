// Package softauthn is a software passkey authenticator for tests: it
// answers the WebAuthn options a relying party sends (attestation "none",
// ES256) with the JSON a browser's script would post, so passkey
// ceremonies run end to end without a browser.
package softauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator is a minimal software authenticator plus the browser's
// part of the ceremony: it reads the options exactly as the page's script
// receives them (JSON), and answers with the JSON body the script posts.
type Authenticator struct {
	t       testing.TB
	key     *ecdsa.PrivateKey
	counter uint32
	// Origin is the page's origin the client data names.
	Origin string
	// CredentialID is the credential's id.
	CredentialID []byte
	// Handle is the user handle learnt at registration.
	Handle []byte
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

// New makes an authenticator with a fresh P-256 key for a page at origin.
func New(t testing.TB, origin string) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &Authenticator{t: t, key: key, CredentialID: id, Origin: origin}
}

var b64 = base64.RawURLEncoding

// CreationOptions is the wire shape of go-webauthn's creation options,
// as the browser receives it.
type CreationOptions struct {
	PublicKey struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		Challenge        string `json:"challenge"`
		PubKeyCredParams []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		ExcludeCredentials []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"excludeCredentials"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Timeout int `json:"timeout"`
	} `json:"publicKey"`
}

// RequestOptions is the wire shape of go-webauthn's assertion options.
type RequestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

// ViaJSON passes in through its JSON form into out, as the options reach
// the page's script (in may already be JSON: a json.RawMessage).
func ViaJSON(t testing.TB, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(out); err != nil {
		t.Fatal(err)
	}
}

func (a *Authenticator) cosePublicKey() []byte {
	pub, err := a.key.PublicKey.ECDH()
	if err != nil {
		a.t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	k, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256),
		XCoord:        raw[1:33],
		YCoord:        raw[33:65],
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return k
}

func authData(rpID string, flags byte, counter uint32, attested []byte) []byte {
	rpHash := sha256.Sum256([]byte(rpID))
	out := append([]byte(nil), rpHash[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

// Create answers navigator.credentials.create with attestation "none";
// opts is a *protocol.CredentialCreation or its JSON.
func (a *Authenticator) Create(opts any) []byte {
	var o CreationOptions
	ViaJSON(a.t, opts, &o)
	pk := o.PublicKey
	for _, ex := range pk.ExcludeCredentials {
		if ex.ID == b64.EncodeToString(a.CredentialID) {
			a.t.Fatal("authenticator asked to register twice")
		}
	}
	handle, err := b64.DecodeString(pk.User.ID)
	if err != nil {
		a.t.Fatalf("user.id not base64url: %v", err)
	}
	a.Handle = handle
	attested := make([]byte, 16) // AAGUID: zero, as "none" attestation allows
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.CredentialID)))
	attested = append(attested, a.CredentialID...)
	attested = append(attested, a.cosePublicKey()...)
	ad := authData(pk.RP.ID, flagUP|flagUV|flagAT, a.counter, attested)
	attObj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		a.t.Fatal(err)
	}
	cd := a.clientData("webauthn.create", pk.Challenge)
	return mustJSON(a.t, map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers navigator.credentials.get, signing authenticatorData ||
// SHA-256(clientDataJSON) with the credential key; opts is a
// *protocol.CredentialAssertion or its JSON.
func (a *Authenticator) Get(opts any, counter uint32) []byte {
	var o RequestOptions
	ViaJSON(a.t, opts, &o)
	pk := o.PublicKey
	allowed := false
	for _, c := range pk.AllowCredentials {
		allowed = allowed || c.ID == b64.EncodeToString(a.CredentialID)
	}
	if !allowed {
		a.t.Fatal("credential not in allowCredentials")
	}
	ad := authData(pk.RPID, flagUP|flagUV, counter, nil)
	cd := a.clientData("webauthn.get", pk.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return mustJSON(a.t, map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.Handle),
		},
	})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
