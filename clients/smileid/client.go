package smileid

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/login-guard/login_guard/internal/noredirect"
)

// Client submits SmartSelfie Authentication jobs, verifies Smile ID's
// callbacks and confirms results with job-status calls. It is safe for
// concurrent use and starts no goroutines.
type Client struct {
	cfg      Config
	signer   *Signer
	registry Pending
	codes    codeTable
	http     *http.Client
	upload   string // {base}/v1/upload
	status   string // {base}/v1/job_status
	random   io.Reader
}

// New validates cfg, applies defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	signer, err := NewSigner(cfg.PartnerID, cfg.APIKey, cfg.SignatureWindow, cfg.Now)
	if err != nil {
		return nil, err
	}
	var registry Pending = cfg.Pending
	if registry == nil {
		r, err := NewRegistry(cfg.MaxPending, cfg.PendingTTL, cfg.Now)
		if err != nil {
			return nil, err
		}
		registry = r
	}
	hc := noredirect.Client(cfg.HTTPClient)
	random := cfg.Random
	if random == nil {
		random = rand.Reader
	}
	return &Client{
		cfg:      cfg,
		signer:   signer,
		registry: registry,
		codes:    newCodeTable(cfg.AuthenticatedCodes, cfg.PendingCodes),
		http:     hc,
		upload:   base.JoinPath("v1", "upload").String(),
		status:   base.JoinPath("v1", "job_status").String(),
		random:   random,
	}, nil
}

// String keeps the API key out of any %v of a Client.
func (c *Client) String() string { return "smileid.Client{partner_id:" + c.cfg.PartnerID + "}" }

// GoString keeps the API key out of %#v.
func (c *Client) GoString() string { return c.String() }

// Signer exposes Sign and VerifySignature with the client's key, window
// and clock.
func (c *Client) Signer() *Signer { return c.signer }

// Registry exposes the pending jobs (Lookup, Status, Complete).
func (c *Client) Registry() Pending { return c.registry }

// Status is the polling page's query: the registry's state of jobID.
// Unlike Confirm it never calls Smile ID. The error is always nil: a
// shared store that cannot be reached answers StateUnknown.
func (c *Client) Status(jobID string) (State, error) {
	return c.registry.Status(jobID), nil
}

// Complete hands out an authenticated job once; see Registry.Complete.
func (c *Client) Complete(jobID string) (Entry, error) {
	return c.registry.Complete(jobID)
}

// CallbackLimit is the cap HandleCallback applies to a body; the Caddy module
// reads the request body through io.LimitReader(body, CallbackLimit()+1).
func (c *Client) CallbackLimit() int64 { return c.cfg.MaxCallbackBytes }

// SubmitRequest is one step-up attempt's images and identity.
type SubmitRequest struct {
	// UserID is the Smile ID user_id the user was enrolled under (by
	// SmartSelfie registration, Biometric KYC or Document Verification).
	UserID string
	// StateHandle is the caller's opaque reference to its step-up state,
	// returned with the job's Entry (at most MaxStateHandleLen bytes).
	StateHandle string
	// ClientIP is passed to the Limiter.
	ClientIP netip.Addr
	// Selfie is one raw JPEG or PNG image; Liveness the raw liveness
	// frames. They are sent base64 encoded (image_type_id 2 and 6).
	Selfie   []byte
	Liveness [][]byte
}

// Submission is the outcome of a successful Submit.
type Submission struct {
	// JobID is the guard's job_id: random, 128 bits, registered pending.
	// The caller binds it to the step-up state.
	JobID string
	// SmileJobID is Smile ID's own job number from the upload answer.
	SmileJobID string
}

// scrubURLError drops the *url.Error wrapper Go's client puts around
// transport errors: it quotes the request URL, and an upload URL is a
// presigned credential.
func scrubURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
