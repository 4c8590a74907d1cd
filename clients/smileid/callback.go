package smileid

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// HandleCallback processes the body of a callback Smile ID posted to
// CallbackURL. The Caddy module wires HTTP: it reads the body through
// io.LimitReader(r.Body, CallbackLimit()+1), calls this, and answers 200
// whenever the error is nil (an error answer makes Smile ID retry, which
// only helps for transient errors: see below).
//
// Order of checks: size cap, JSON shape, signature, freshness, a
// registered live job id, matching user id and job type 2 (refusals up to
// the signature are Unauthenticated: anyone can send them). A callback for
// a job already authenticated or rejected changes nothing. A callback
// byte-identical to one already processed is a no-op (Duplicate). Any
// other callback only triggers Confirm: the callback's own ResultCode is
// never trusted, because its signature is not bound to the job and a
// captured signature pair could be replayed with any body for its
// lifetime. So a forged "1220" for a real job id completes nothing unless
// Smile ID's job status says so too.
//
// Permanent(err) tells a refusal that no retry can change from a failed
// job-status call, or a shared store that did not answer
// (ErrStoreUnavailable), which a retry of the same callback may overcome.
func (c *Client) HandleCallback(ctx context.Context, body []byte) (Result, error) {
	res, err := c.handleCallback(ctx, body)
	c.cfg.Observer.Observe(Report{Op: OpCallback, State: res.State, Err: err})
	return res, err
}

func (c *Client) handleCallback(ctx context.Context, body []byte) (Result, error) {
	if int64(len(body)) > c.cfg.MaxCallbackBytes {
		return Result{}, fmt.Errorf("smileid: callback: %w", ErrBodyTooLarge)
	}
	var cb callbackBody
	if !isJSONObject(body) || json.Unmarshal(body, &cb) != nil {
		return Result{}, fmt.Errorf("smileid: callback: %w", ErrMalformed)
	}
	if cb.Timestamp == "" || cb.Signature == "" || cb.PartnerParams.JobID == "" || cb.ResultCode == "" {
		return Result{}, fmt.Errorf("smileid: callback: %w: timestamp, signature, job id or result code missing", ErrMalformed)
	}
	if err := c.signer.VerifySignature(cb.Timestamp, cb.Signature); err != nil {
		return Result{}, fmt.Errorf("smileid: callback: %w", err)
	}
	jobID := cb.PartnerParams.JobID
	e, err := c.registry.Lookup(jobID)
	if err != nil {
		// ErrUnknownJob, or ErrStoreUnavailable: Smile ID retries that.
		return Result{}, fmt.Errorf("smileid: callback: %w", err)
	}
	if err := matchJob(cb.PartnerParams, e); err != nil {
		return Result{}, fmt.Errorf("smileid: callback: %w", err)
	}
	if e.State.terminal() {
		return resultOf(e, false), nil
	}
	digest := sha256.Sum256(body)
	seen, err := c.registry.SeenCallback(jobID, digest)
	if err != nil {
		return Result{}, fmt.Errorf("smileid: callback: %w", err)
	}
	if seen {
		r := resultOf(e, false)
		r.Duplicate = true
		return r, nil
	}
	res, err := c.Confirm(ctx, jobID)
	if err != nil {
		return Result{}, err
	}
	// Remembered only once confirmed, so Smile ID's retry of a callback
	// whose confirmation failed is processed again.
	c.registry.MarkCallback(jobID, digest)
	return res, nil
}
