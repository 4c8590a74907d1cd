package forter

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// Test-mode customer IPs: Forter's test mode decides by customerIP.
const (
	TestIPApprove = "0.0.0.1"
	TestIPDecline = "0.0.0.2"
	TestIPVerify  = "0.0.0.4"
)

// Forter's decision words.
const (
	DecisionApprove              = "APPROVE"
	DecisionDecline              = "DECLINE"
	DecisionVerificationRequired = "VERIFICATION_REQUIRED"
	DecisionNotReviewed          = "NOT_REVIEWED"
)

// maxTokenLen bounds the Forter token copied from the cookie: a real one is
// far shorter, and the payload must stay bounded whatever the client sends.
const maxTokenLen = 1024

// LoginRequest is the Account Login API body. Field order is wire order.
type LoginRequest struct {
	AccountID             string                `json:"accountId"`
	EventTime             int64                 `json:"eventTime"`
	ConnectionInformation ConnectionInformation `json:"connectionInformation"`
	LoginMethodType       string                `json:"loginMethodType"`
	LoginStatus           string                `json:"loginStatus,omitempty"`
	ChannelType           string                `json:"channelType"`
	UserInput             *UserInput            `json:"userInput,omitempty"`
}

// ConnectionInformation is the client's connection as the guard saw it.
type ConnectionInformation struct {
	CustomerIP        string `json:"customerIP,omitempty"`
	UserAgent         string `json:"userAgent"`
	ForterTokenCookie string `json:"forterTokenCookie,omitempty"`
}

// UserInput is what the user typed: exactly one of Email and Username is
// set, as InputType says.
type UserInput struct {
	InputType string `json:"inputType"`
	Email     string `json:"email,omitempty"`
	Username  string `json:"username,omitempty"`
}

// LoginResponse is the part of Forter's answer this package reads; other
// keys are ignored.
type LoginResponse struct {
	ForterDecision     string              `json:"forterDecision"`
	DecisionReason     string              `json:"decisionReason"`
	AccountID          string              `json:"accountId"`
	CorrelationID      string              `json:"correlationId"`
	Recommendation     string              `json:"recommendation"`
	VerificationMethod *VerificationMethod `json:"verificationMethod"`
}

// VerificationMethod is the second factor Forter recommends (in a login
// answer) or the one that was used (in an authentication result, where
// only Type is sent).
type VerificationMethod struct {
	VerificationID string `json:"verificationId,omitempty"`
	CorrelationID  string `json:"correlationId,omitempty"`
	Type           string `json:"type,omitempty"`
}

// AuthResultRequest is the authentication-result body. Its shape is partly
// an assumption: see the package doc.
type AuthResultRequest struct {
	AccountID   string `json:"accountId"`
	EventTime   int64  `json:"eventTime"`
	ChannelType string `json:"channelType"`
	// AdditionalAuthenticationMethod is the seed's
	// "AdvancedAuthenticationMethod", under the key Forter's public guide
	// uses, or under MethodKey when the config names another.
	AdditionalAuthenticationMethod AuthenticationMethod `json:"additionalAuthenticationMethod"`
	// MethodKey, when set, is the JSON key of the method object (an
	// assumption the operator may correct without a code change).
	MethodKey string `json:"-"`
}

// MarshalJSON writes the fields in their documented order, with the
// method object under MethodKey when one is set.
func (r AuthResultRequest) MarshalJSON() ([]byte, error) {
	key := r.MethodKey
	if key == "" {
		key = DefaultAuthResultMethodKey
	}
	method, err := json.Marshal(r.AdditionalAuthenticationMethod)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		AccountID   string `json:"accountId"`
		EventTime   int64  `json:"eventTime"`
		ChannelType string `json:"channelType"`
	}{r.AccountID, r.EventTime, r.ChannelType})
	if err != nil {
		return nil, err
	}
	k, _ := json.Marshal(key)
	out := append(head[:len(head)-1], ',')
	out = append(out, k...)
	out = append(out, ':')
	out = append(out, method...)
	return append(out, '}'), nil
}

// AuthenticationMethod reports one second-factor attempt.
type AuthenticationMethod struct {
	// CorrelationID is the correlationId of the login answer that
	// recommended the verification.
	CorrelationID string `json:"correlationId"`
	// VerificationOutcome is "SUCCESS" or "FAILURE".
	VerificationOutcome string `json:"verificationOutcome"`
	// VerificationMethod names the method used (Type only); omitted when
	// the caller gave none.
	VerificationMethod *VerificationMethod `json:"verificationMethod,omitempty"`
}

// Verification outcomes.
const (
	OutcomeSuccess = "SUCCESS"
	OutcomeFailure = "FAILURE"
)

// Request is one login to check: the attempt and the merchant's account
// id, which rules.Attempt does not carry. An empty AccountID sends
// NO_ACCOUNT_ID.
type Request struct {
	Attempt   *rules.Attempt
	AccountID string
}

// loginBody builds the LoginRequest for req (see the package doc).
func (c *Client) loginBody(req Request) LoginRequest {
	a := req.Attempt
	t := a.Time
	if t.IsZero() {
		t = c.now()
	}
	body := LoginRequest{
		AccountID: accountID(req.AccountID),
		EventTime: t.UnixMilli(),
		ConnectionInformation: ConnectionInformation{
			UserAgent:         a.UserAgent,
			ForterTokenCookie: tokenCookie(a.Header, c.tokenCookie),
		},
		LoginMethodType: c.loginMethod,
		LoginStatus:     c.loginStatus(a.Outcome),
		ChannelType:     c.channel,
	}
	if a.IP.IsValid() {
		body.ConnectionInformation.CustomerIP = a.IP.Unmap().WithZone("").String()
	}
	switch {
	case a.User == "":
	case strings.Contains(a.User, "@"):
		body.UserInput = &UserInput{InputType: "EMAIL", Email: a.User}
	default:
		body.UserInput = &UserInput{InputType: "USERNAME", Username: a.User}
	}
	return body
}

func (c *Client) loginStatus(o rules.Outcome) string {
	switch o {
	case rules.OutcomeSuccess:
		return "SUCCESS"
	case rules.OutcomeFailure:
		return "FAILED"
	}
	return c.unknownStatus
}

func accountID(id string) string {
	if id == "" {
		return NoAccountID
	}
	return id
}

// tokenCookie reads Forter's token from the request's cookies, parsed the
// way net/http's server does. "" when absent, empty or too long.
func tokenCookie(h http.Header, name string) string {
	if len(h["Cookie"]) == 0 {
		return ""
	}
	r := http.Request{Header: http.Header{"Cookie": h["Cookie"]}}
	ck, err := r.Cookie(name)
	if err != nil || len(ck.Value) > maxTokenLen {
		return ""
	}
	return ck.Value
}

// authResultBody builds the AuthResultRequest.
func (c *Client) authResultBody(account, correlationID, method string, success bool, now time.Time) AuthResultRequest {
	outcome := OutcomeFailure
	if success {
		outcome = OutcomeSuccess
	}
	body := AuthResultRequest{
		MethodKey:   c.methodKey,
		AccountID:   accountID(account),
		EventTime:   now.UnixMilli(),
		ChannelType: c.channel,
		AdditionalAuthenticationMethod: AuthenticationMethod{
			CorrelationID:       correlationID,
			VerificationOutcome: outcome,
		},
	}
	if method != "" {
		body.AdditionalAuthenticationMethod.VerificationMethod = &VerificationMethod{Type: method}
	}
	return body
}
