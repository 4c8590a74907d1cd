package forter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	testSiteID = "8b47c6d423ba"
	testAPIKey = "fk_test_SECRET_0123456789"
)

// received is one request as the fake saw it.
type received struct {
	method, requestURI string
	header             http.Header
	body               []byte
}

// fakeForter is a Forter stand-in in test mode: it checks every request
// against the wire format and decides login requests by customerIP, as
// Forter's test mode does (0.0.0.1 approve, 0.0.0.2 decline, 0.0.0.4
// verification required, anything else NOT_REVIEWED).
type fakeForter struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []received
	// override, when set, answers instead of the test-mode logic.
	override func(w http.ResponseWriter, r *http.Request)
}

func newFakeForter(t *testing.T) *fakeForter {
	f := &fakeForter{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeForter) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func (f *fakeForter) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake forter: reading body: %v", err)
	}
	f.mu.Lock()
	f.got = append(f.got, received{r.Method, r.RequestURI, r.Header.Clone(), body})
	override := f.override
	f.mu.Unlock()

	f.checkHeaders(r, len(body))
	if r.Method != http.MethodPost {
		f.t.Errorf("fake forter: method %s", r.Method)
	}
	if override != nil {
		override(w, r)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v2/accounts/login/"):
		f.login(w, r, body)
	case strings.HasPrefix(r.URL.Path, "/v2/accounts/authentication-result/"):
		f.authResult(w, r, body)
	default:
		f.t.Errorf("fake forter: path %s", r.URL.Path)
		http.NotFound(w, r)
	}
}

// checkHeaders demands exactly the headers the client must send.
func (f *fakeForter) checkHeaders(r *http.Request, n int) {
	want := map[string]string{
		"Authorization":   "Basic " + base64.StdEncoding.EncodeToString([]byte(testAPIKey+":")),
		"Api-Version":     DefaultAPIVersion,
		"X-Forter-Siteid": testSiteID,
		"Content-Type":    "application/json",
		"Accept":          "application/json",
		"User-Agent":      "login_guard",
		"Content-Length":  strconv.Itoa(n),
		"Accept-Encoding": "gzip",
	}
	if len(r.Header) != len(want) {
		var names []string
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		f.t.Errorf("fake forter: headers %v, want exactly %d", names, len(want))
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			f.t.Errorf("fake forter: header %s = %q, want %q", k, got, v)
		}
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testAPIKey || pass != "" {
		f.t.Errorf("fake forter: basic auth %q/%q", user, pass)
	}
}

// object decodes b as one JSON object with numbers kept exact, failing
// on trailing data.
func object(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return m, nil
}

// checkKeys reports keys of m outside allowed or required keys missing,
// and values whose JSON type differs from the one given ("string",
// "integer", "object").
func checkKeys(m map[string]any, required, optional map[string]string) error {
	for k, v := range m {
		typ, ok := required[k]
		if !ok {
			typ, ok = optional[k]
		}
		if !ok {
			return fmt.Errorf("unexpected key %q", k)
		}
		if err := checkType(k, v, typ); err != nil {
			return err
		}
	}
	for k := range required {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("missing key %q", k)
		}
	}
	return nil
}

func checkType(k string, v any, typ string) error {
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "object":
		_, ok = v.(map[string]any)
	case "integer":
		var n json.Number
		if n, ok = v.(json.Number); ok {
			_, err := n.Int64()
			ok = err == nil
		}
	}
	if !ok {
		return fmt.Errorf("key %q: %T is not a JSON %s", k, v, typ)
	}
	return nil
}

func (f *fakeForter) login(w http.ResponseWriter, r *http.Request, body []byte) {
	m, err := object(body)
	if err != nil {
		f.t.Errorf("fake forter: login body: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if err := checkKeys(m,
		map[string]string{"accountId": "string", "eventTime": "integer", "connectionInformation": "object",
			"loginMethodType": "string", "channelType": "string"},
		map[string]string{"loginStatus": "string", "userInput": "object"}); err != nil {
		f.t.Errorf("fake forter: login body: %v", err)
	}
	if id := strings.TrimPrefix(r.URL.Path, "/v2/accounts/login/"); id != m["accountId"] {
		f.t.Errorf("fake forter: path account %q, body account %v", id, m["accountId"])
	}
	conn, _ := m["connectionInformation"].(map[string]any)
	if err := checkKeys(conn, map[string]string{"userAgent": "string"},
		map[string]string{"customerIP": "string", "forterTokenCookie": "string"}); err != nil {
		f.t.Errorf("fake forter: connectionInformation: %v", err)
	}
	if in, ok := m["userInput"].(map[string]any); ok {
		var err error
		switch in["inputType"] {
		case "EMAIL":
			err = checkKeys(in, map[string]string{"inputType": "string", "email": "string"}, nil)
		case "USERNAME":
			err = checkKeys(in, map[string]string{"inputType": "string", "username": "string"}, nil)
		default:
			err = fmt.Errorf("inputType %v", in["inputType"])
		}
		if err != nil {
			f.t.Errorf("fake forter: userInput: %v", err)
		}
	}
	if s, ok := m["loginStatus"]; ok && s != "SUCCESS" && s != "FAILED" {
		f.t.Errorf("fake forter: loginStatus %v", s)
	}
	account, _ := m["accountId"].(string)
	w.Header().Set("Content-Type", "application/json")
	switch conn["customerIP"] {
	case TestIPApprove:
		fmt.Fprintf(w, `{"forterDecision":"APPROVE","decisionReason":"","accountId":%q,"correlationId":"CORR-APPROVE","recommendation":""}`, account)
	case TestIPDecline:
		fmt.Fprintf(w, `{"forterDecision":"DECLINE","decisionReason":"","accountId":%q,"correlationId":"CORR-DECLINE","recommendation":""}`, account)
	case TestIPVerify:
		fmt.Fprintf(w, `{"forterDecision":"VERIFICATION_REQUIRED","decisionReason":"","accountId":%q,"correlationId":"CORR-VERIFY",`+
			`"recommendation":"EMAIL_VERIFICATION","verificationMethod":{"verificationId":"88yr28r890u","correlationId":%q,"type":"OTP_EMAIL"}}`, account, account)
	default:
		fmt.Fprintf(w, `{"forterDecision":"NOT_REVIEWED","decisionReason":"","accountId":%q,"correlationId":"CORR-NR","recommendation":""}`, account)
	}
}

func (f *fakeForter) authResult(w http.ResponseWriter, r *http.Request, body []byte) {
	m, err := object(body)
	if err != nil {
		f.t.Errorf("fake forter: auth result body: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if err := checkKeys(m, map[string]string{"accountId": "string", "eventTime": "integer", "channelType": "string",
		"additionalAuthenticationMethod": "object"}, nil); err != nil {
		f.t.Errorf("fake forter: auth result: %v", err)
	}
	am, _ := m["additionalAuthenticationMethod"].(map[string]any)
	if err := checkKeys(am, map[string]string{"correlationId": "string", "verificationOutcome": "string"},
		map[string]string{"verificationMethod": "object"}); err != nil {
		f.t.Errorf("fake forter: additionalAuthenticationMethod: %v", err)
	}
	if o := am["verificationOutcome"]; o != OutcomeSuccess && o != OutcomeFailure {
		f.t.Errorf("fake forter: verificationOutcome %v", o)
	}
	if vm, ok := am["verificationMethod"].(map[string]any); ok {
		if err := checkKeys(vm, map[string]string{"type": "string"}, nil); err != nil {
			f.t.Errorf("fake forter: verificationMethod: %v", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"forterDecision":"NOT_REVIEWED","accountId":%q,"correlationId":"x"}`, m["accountId"])
}
