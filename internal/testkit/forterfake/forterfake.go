// Package forterfake is Forter's Account Login API on loopback, for the
// client's tests and the tests that start Caddy: every request is checked
// against the wire format (headers, method, path, body keys and JSON
// types), logins are decided by customerIP as Forter's test mode does, or
// all sent to verification, and authentication results are accepted.
//
// It does not import clients/forter, whose own (in-package) tests use it:
// the format is checked here from the API's documentation, not from the
// client's code, and the client's tests compare the constants below with
// its own.
package forterfake

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
	"time"
)

// Forter's test mode decides a login by the connection's customerIP.
const (
	IPApprove = "0.0.0.1"
	IPDecline = "0.0.0.2"
	IPVerify  = "0.0.0.4"
)

// The values the fake demands.
const (
	// APIVersion is the api-version header every request must carry.
	APIVersion = "2.36"
	// UserAgent is the User-Agent every request must carry.
	UserAgent = "login_guard"
	// OutcomeSuccess and OutcomeFailure are the only verificationOutcome
	// values of an authentication result.
	OutcomeSuccess = "SUCCESS"
	OutcomeFailure = "FAILURE"
)

const (
	loginPrefix      = "/v2/accounts/login/"
	authResultPrefix = "/v2/accounts/authentication-result/"
)

// Request is one request as the fake received it, byte for byte.
type Request struct {
	Method     string
	RequestURI string // as sent, still escaped
	Path       string // decoded
	Header     http.Header
	Body       []byte
}

// Server is the fake. A request that breaks the format fails the test
// that started it.
type Server struct {
	*httptest.Server
	t              testing.TB
	siteID, apiKey string

	mu       sync.Mutex
	got      []Request
	override http.HandlerFunc
	// verify is the correlation id when every login goes to
	// verification; verifyAccount the account id answered then.
	verify, verifyAccount string
	arrived               chan Request
}

// New starts a fake that demands siteID and apiKey and decides logins by
// customerIP; it stops when the test ends.
func New(t testing.TB, siteID, apiKey string) *Server {
	s := &Server{t: t, siteID: siteID, apiKey: apiKey, arrived: make(chan Request, 1000)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AlwaysVerify makes every later login answer VERIFICATION_REQUIRED with
// correlationID and accountID (the request's own account id when
// accountID is ""), whatever the IP.
func (s *Server) AlwaysVerify(correlationID, accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verify, s.verifyAccount = correlationID, accountID
}

// Override makes h answer every later request instead of the fake's own
// logic (nil: back to it). Requests are still recorded and their headers
// and method checked; their bodies are not.
func (s *Server) Override(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.override = h
}

// All returns every request received so far.
func (s *Server) All() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

// Next waits for the next request not yet returned by Next (calls made
// after the answer to the user, such as authentication results, arrive
// late).
func (s *Server) Next(t testing.TB) Request {
	t.Helper()
	select {
	case r := <-s.arrived:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("forterfake: no request arrived")
	}
	return Request{}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("forterfake: reading body: %v", err)
	}
	got := Request{Method: r.Method, RequestURI: r.RequestURI, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	s.mu.Lock()
	s.got = append(s.got, got)
	override, verify, verifyAccount := s.override, s.verify, s.verifyAccount
	s.mu.Unlock()
	select {
	case s.arrived <- got:
	default: // nobody calls Next in this test
	}

	s.checkHeaders(r, len(body))
	if r.Method != http.MethodPost {
		s.t.Errorf("forterfake: method %s", r.Method)
	}
	if override != nil {
		override(w, r)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, loginPrefix):
		s.login(w, r, body, verify, verifyAccount)
	case strings.HasPrefix(r.URL.Path, authResultPrefix):
		s.authResult(w, r, body)
	default:
		s.t.Errorf("forterfake: path %s", r.URL.Path)
		http.NotFound(w, r)
	}
}

// checkHeaders demands exactly the headers the client must send.
func (s *Server) checkHeaders(r *http.Request, n int) {
	want := map[string]string{
		"Authorization":   "Basic " + base64.StdEncoding.EncodeToString([]byte(s.apiKey+":")),
		"Api-Version":     APIVersion,
		"X-Forter-Siteid": s.siteID,
		"Content-Type":    "application/json",
		"Accept":          "application/json",
		"User-Agent":      UserAgent,
		"Content-Length":  strconv.Itoa(n),
		"Accept-Encoding": "gzip",
	}
	if len(r.Header) != len(want) {
		var names []string
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		s.t.Errorf("forterfake: headers %v, want exactly %d", names, len(want))
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			s.t.Errorf("forterfake: header %s = %q, want %q", k, got, v)
		}
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.apiKey || pass != "" {
		s.t.Errorf("forterfake: basic auth %q/%q", user, pass)
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

func (s *Server) login(w http.ResponseWriter, r *http.Request, body []byte, verify, verifyAccount string) {
	m, err := object(body)
	if err != nil {
		s.t.Errorf("forterfake: login body: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if err := checkKeys(m,
		map[string]string{"accountId": "string", "eventTime": "integer", "connectionInformation": "object",
			"loginMethodType": "string", "channelType": "string"},
		map[string]string{"loginStatus": "string", "userInput": "object"}); err != nil {
		s.t.Errorf("forterfake: login body: %v", err)
	}
	if id := strings.TrimPrefix(r.URL.Path, loginPrefix); id != m["accountId"] {
		s.t.Errorf("forterfake: path account %q, body account %v", id, m["accountId"])
	}
	conn, _ := m["connectionInformation"].(map[string]any)
	if err := checkKeys(conn, map[string]string{"userAgent": "string"},
		map[string]string{"customerIP": "string", "forterTokenCookie": "string"}); err != nil {
		s.t.Errorf("forterfake: connectionInformation: %v", err)
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
			s.t.Errorf("forterfake: userInput: %v", err)
		}
	}
	if st, ok := m["loginStatus"]; ok && st != "SUCCESS" && st != "FAILED" {
		s.t.Errorf("forterfake: loginStatus %v", st)
	}
	account, _ := m["accountId"].(string)
	w.Header().Set("Content-Type", "application/json")
	if verify != "" {
		if verifyAccount != "" {
			account = verifyAccount
		}
		fmt.Fprintf(w, `{"forterDecision":"VERIFICATION_REQUIRED","decisionReason":"","accountId":%q,"correlationId":%q,`+
			`"recommendation":"VERIFICATION_REQUIRED","verificationMethod":{"type":"EMAIL_VERIFICATION"}}`, account, verify)
		return
	}
	switch conn["customerIP"] {
	case IPApprove:
		fmt.Fprintf(w, `{"forterDecision":"APPROVE","decisionReason":"","accountId":%q,"correlationId":"CORR-APPROVE","recommendation":""}`, account)
	case IPDecline:
		fmt.Fprintf(w, `{"forterDecision":"DECLINE","decisionReason":"","accountId":%q,"correlationId":"CORR-DECLINE","recommendation":""}`, account)
	case IPVerify:
		fmt.Fprintf(w, `{"forterDecision":"VERIFICATION_REQUIRED","decisionReason":"","accountId":%q,"correlationId":"CORR-VERIFY",`+
			`"recommendation":"EMAIL_VERIFICATION","verificationMethod":{"verificationId":"88yr28r890u","correlationId":%q,"type":"OTP_EMAIL"}}`, account, account)
	default:
		fmt.Fprintf(w, `{"forterDecision":"NOT_REVIEWED","decisionReason":"","accountId":%q,"correlationId":"CORR-NR","recommendation":""}`, account)
	}
}

func (s *Server) authResult(w http.ResponseWriter, r *http.Request, body []byte) {
	m, err := object(body)
	if err != nil {
		s.t.Errorf("forterfake: auth result body: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if err := checkKeys(m, map[string]string{"accountId": "string", "eventTime": "integer", "channelType": "string",
		"additionalAuthenticationMethod": "object"}, nil); err != nil {
		s.t.Errorf("forterfake: auth result: %v", err)
	}
	if id := strings.TrimPrefix(r.URL.Path, authResultPrefix); id != m["accountId"] {
		s.t.Errorf("forterfake: path account %q, body account %v", id, m["accountId"])
	}
	am, _ := m["additionalAuthenticationMethod"].(map[string]any)
	if err := checkKeys(am, map[string]string{"correlationId": "string", "verificationOutcome": "string"},
		map[string]string{"verificationMethod": "object"}); err != nil {
		s.t.Errorf("forterfake: additionalAuthenticationMethod: %v", err)
	}
	if o := am["verificationOutcome"]; o != OutcomeSuccess && o != OutcomeFailure {
		s.t.Errorf("forterfake: verificationOutcome %v", o)
	}
	if vm, ok := am["verificationMethod"].(map[string]any); ok {
		if err := checkKeys(vm, map[string]string{"type": "string"}, nil); err != nil {
			s.t.Errorf("forterfake: verificationMethod: %v", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"forterDecision":"NOT_REVIEWED","accountId":%q,"correlationId":"x"}`, m["accountId"])
}
