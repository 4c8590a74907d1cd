package httpengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/internal/noredirect"
	"github.com/login-guard/login_guard/rules"
)

// maxCorrelationLen bounds the service's correlation id kept on a verdict.
const maxCorrelationLen = 128

// Client is the generic HTTP engine. It implements rules.Engine and is safe
// for concurrent use; keep one per configured service.
type Client struct {
	name     string
	url      string
	headers  http.Header
	timeout  time.Duration
	maxBody  int64
	maxCount int
	maxLen   int
	allowed  map[string]bool
	http     *http.Client
	now      func() time.Time
}

// New validates cfg, applies the defaults and returns a client.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := http.Header{}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "login_guard")
	}
	c := &Client{
		name: cfg.Name, url: cfg.URL, headers: h, timeout: cfg.Timeout, maxBody: cfg.MaxResponseBytes,
		maxCount: cfg.MaxReasons, maxLen: cfg.MaxReasonLen, allowed: cfg.reasonSet(),
		http: cfg.HTTPClient, now: cfg.Now,
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

// Decide POSTs the attempt and maps the answer. Errors are *engine.Failure.
func (c *Client) Decide(ctx context.Context, a *rules.Attempt) (rules.Verdict, error) {
	body, err := encode(NewRequest(a, c.now))
	if err != nil {
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindError, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindError, Err: errBadRequest}
	}
	for k, v := range c.headers {
		req.Header[k] = v
	}
	answer, err := engine.Exchange(c.http, c.name, req, c.maxBody)
	if err != nil {
		return rules.Verdict{}, err
	}
	return c.verdict(answer)
}

var errBadRequest = fmt.Errorf("cannot build the request")

// verdict maps a 2xx body to a verdict.
func (c *Client) verdict(body []byte) (rules.Verdict, error) {
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindMalformed, Err: jsonError(err)}
	}
	var v rules.Verdict
	switch r.Action {
	case "allow":
	case "challenge":
		v.Add(rules.Challenge, rules.ReasonEngineChallenge)
	case "deny":
		v.Add(rules.Deny, rules.ReasonEngineDecline)
	case "":
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindMalformed,
			Err: fmt.Errorf("no action in the answer")}
	default:
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindUnknownDecision,
			Err: fmt.Errorf("action %q", truncate(r.Action, 32))}
	}
	for _, reason := range sanitizeReasons(r.Reasons, c.maxCount, c.maxLen, c.allowed) {
		v.Add(v.Action, reason)
	}
	if r.Score != nil {
		v.Score, v.HasScore = *r.Score, true
	}
	if r.CorrelationID != "" {
		v.Correlations = []rules.Correlation{{Engine: c.name, ID: truncate(r.CorrelationID, maxCorrelationLen)}}
	}
	return v, nil
}

// jsonError keeps the kind of a decoding error but not the service's
// text, which could echo anything.
func jsonError(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("invalid JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("field %q: want %s, got JSON %s", e.Field, e.Type, e.Value)
	}
	return fmt.Errorf("invalid JSON answer")
}

// truncate cuts s to at most n bytes on a rune boundary and drops invalid
// UTF-8.
func truncate(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return toValidUTF8(s)
}

func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(bytes.ToValidUTF8([]byte(s), nil))
}
