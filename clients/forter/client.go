package forter

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/internal/noredirect"
	"github.com/login-guard/login_guard/rules"
)

// Client talks to Forter for one site. It implements rules.Engine and is
// safe for concurrent use; keep one per configured site.
type Client struct {
	name          string
	base          string // endpoint without a trailing slash
	headers       http.Header
	tokenCookie   string
	loginMethod   string
	channel       string
	methodKey     string
	unknownStatus string
	onNotReviewed rules.Action
	accountOf     func(*rules.Attempt) string
	timeout       time.Duration
	maxBody       int64
	http          *http.Client
	now           func() time.Time
}

// New validates cfg, applies the defaults and returns a client.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{
		name: cfg.Name, base: base,
		headers: http.Header{
			"Authorization":   {"Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.APIKey+":"))},
			"Api-Version":     {cfg.APIVersion},
			"X-Forter-Siteid": {cfg.SiteID},
			"Content-Type":    {"application/json"},
			"Accept":          {"application/json"},
			"User-Agent":      {"login_guard"},
		},
		tokenCookie: cfg.TokenCookie, loginMethod: cfg.LoginMethodType, channel: cfg.ChannelType, methodKey: cfg.AuthResultMethodKey,
		unknownStatus: cfg.UnknownLoginStatus, onNotReviewed: cfg.OnNotReviewed, accountOf: cfg.AccountID,
		timeout: cfg.Timeout, maxBody: cfg.MaxResponseBytes, http: cfg.HTTPClient, now: cfg.Now,
	}
	if c.http == nil {
		c.http = engine.NewHTTPClient(cfg.MaxIdleConns)
	} else {
		// A caller's client follows no redirect either.
		c.http = noredirect.Client(c.http)
	}
	return c, nil
}

// Name is the configured name.
func (c *Client) Name() string { return c.name }

// CloseIdleConnections releases kept-alive connections (on config unload).
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Decide checks a with the account id from Config.AccountID.
func (c *Client) Decide(ctx context.Context, a *rules.Attempt) (rules.Verdict, error) {
	req := Request{Attempt: a}
	if c.accountOf != nil {
		req.AccountID = c.accountOf(a)
	}
	return c.Check(ctx, req)
}

// Check sends one login to the Account Login API and maps Forter's
// decision (see the package doc). Errors are *engine.Failure.
func (c *Client) Check(ctx context.Context, req Request) (rules.Verdict, error) {
	body, err := json.Marshal(c.loginBody(req))
	if err != nil {
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindError, Err: err}
	}
	answer, err := c.post(ctx, "/v2/accounts/login/", accountID(req.AccountID), body)
	if err != nil {
		return rules.Verdict{}, err
	}
	var resp LoginResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindMalformed, Err: jsonError(err)}
	}
	return c.verdict(resp)
}

// ReportAuthResult tells Forter how the second factor it recommended for
// correlationID ended: method is the verification type used (e.g. the
// verificationMethod.type of the login answer; "" to leave it out) and
// success whether the user passed. Errors are *engine.Failure.
func (c *Client) ReportAuthResult(ctx context.Context, account, correlationID, method string, success bool) error {
	body, err := json.Marshal(c.authResultBody(account, correlationID, method, success, c.now()))
	if err != nil {
		return &engine.Failure{Engine: c.name, Kind: engine.KindError, Err: err}
	}
	_, err = c.post(ctx, "/v2/accounts/authentication-result/", accountID(account), body)
	return err
}

var errBuildRequest = errors.New("cannot build the request")

// post sends body to base+path+escaped(account) with Forter's headers and
// returns the 2xx answer.
func (c *Client) post(ctx context.Context, path, account string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path+url.PathEscape(account), bytes.NewReader(body))
	if err != nil {
		// Not wrapped: the error would quote the URL.
		return nil, &engine.Failure{Engine: c.name, Kind: engine.KindError, Err: errBuildRequest}
	}
	for k, v := range c.headers {
		req.Header[k] = v
	}
	return engine.Exchange(c.http, c.name, req, c.maxBody)
}

// jsonError keeps the kind of a decoding error but not Forter's text.
func jsonError(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("invalid JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("field %q: want %s, got JSON %s", e.Field, e.Type, e.Value)
	}
	return errors.New("invalid JSON answer")
}
