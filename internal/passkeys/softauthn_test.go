package passkeys

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// softAuthn is the software authenticator the integration tests use too.
type softAuthn = softauthn.Authenticator

type creationOptionsJSON = softauthn.CreationOptions

func newSoftAuthn(t testing.TB, origin string) *softAuthn { return softauthn.New(t, origin) }

func viaJSON(t testing.TB, in, out any) { softauthn.ViaJSON(t, in, out) }

var b64 = base64.RawURLEncoding

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://portal.example.com/login_guard/step_up/passkey/finish", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
