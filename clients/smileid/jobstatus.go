package smileid

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Confirm asks Smile ID for the job's status and records the outcome: the
// only way a job leaves pending. HandleCallback calls it; the polling page
// may call it too (rate-limited by the Caddy module) when callbacks cannot reach
// the guard. A terminal job is returned as it is, without a call.
//
// The answer counts only if its signature verifies, its timestamp is not
// older than the job's registration (minus the signature window) nor
// further than the window in the future, and its result names this job,
// this user and job type 2. Then: job_complete false → pending; otherwise
// the result code is classified (pending codes → pending; authenticated
// codes with job_success true → authenticated; anything else → rejected).
//
// Confirm counts against the job's MaxConfirmations; the polling page's
// own calls go through ConfirmForPoll.
func (c *Client) Confirm(ctx context.Context, jobID string) (Result, error) {
	return c.confirm(ctx, jobID, c.cfg.MaxConfirmations)
}

// ConfirmForPoll is Confirm for the polling page, which the Caddy module spaces
// by ConfirmEvery. Its calls count on the same per-job counter but under a
// higher ceiling, MaxConfirmations plus one call per ConfirmEvery of
// PendingTTL: callbacks that failed while Smile ID was down (each Smile ID
// retry, or a replay, takes one) can use up MaxConfirmations, and the job
// would then wait, pending, for a result the guard could fetch; the page
// still reaches it once Smile ID is back, and the job's calls stay bounded.
func (c *Client) ConfirmForPoll(ctx context.Context, jobID string) (Result, error) {
	return c.confirm(ctx, jobID, c.cfg.MaxConfirmations+c.pollConfirmations())
}

// pollConfirmations is how many spaced polls fit in a job's life.
func (c *Client) pollConfirmations() int {
	return int(c.cfg.PendingTTL/ConfirmEvery) + 1
}

func (c *Client) confirm(ctx context.Context, jobID string, budget int) (Result, error) {
	e, err := c.registry.TakeConfirm(jobID, budget)
	if err != nil {
		return Result{}, err
	}
	if e.State.terminal() {
		return resultOf(e, false), nil
	}
	ts, sig := c.signer.Stamp()
	body, err := json.Marshal(jobStatusRequest{
		Signature: sig, Timestamp: ts, PartnerID: c.cfg.PartnerID,
		UserID: e.UserID, JobID: e.JobID, ImageLinks: false, History: false,
	})
	if err != nil {
		return Result{}, fmt.Errorf("smileid: %s: encoding: %w", OpJobStatus, err)
	}
	var st State
	var res jobResult
	if _, err := c.call(ctx, OpJobStatus, "POST", c.status, "application/json", body, func(raw []byte) error {
		var err error
		if st, res, err = c.readJobStatus(raw, e); err != nil {
			return fmt.Errorf("smileid: %s: %w: %w", OpJobStatus, ErrBadJobStatus, err)
		}
		return nil
	}); err != nil {
		return Result{}, err
	}
	after, changed, err := c.registry.Settle(jobID, st, res.ResultCode, res.ResultText, res.SmileJobID)
	if err != nil {
		return Result{}, err
	}
	return resultOf(after, changed), nil
}

// readJobStatus checks a job-status answer for e and classifies it.
func (c *Client) readJobStatus(raw []byte, e Entry) (State, jobResult, error) {
	var resp jobStatusResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return "", jobResult{}, ErrBadResponse
	}
	t, err := parseTimestamp(resp.Timestamp)
	if err != nil {
		return "", jobResult{}, err
	}
	w := c.cfg.SignatureWindow
	if t.Before(e.RegisteredAt.Add(-w)) || t.After(c.cfg.Now().Add(w)) {
		return "", jobResult{}, ErrStaleTimestamp
	}
	if err := c.signer.verifyMAC(resp.Timestamp, resp.Signature); err != nil {
		return "", jobResult{}, err
	}
	var res jobResult
	if isJSONObject(resp.Result) {
		if err := json.Unmarshal(resp.Result, &res); err != nil {
			return "", jobResult{}, ErrBadResponse
		}
		if err := matchJob(res.PartnerParams, e); err != nil {
			return "", jobResult{}, err
		}
	}
	if !resp.JobComplete {
		return StatePending, res, nil
	}
	if !isJSONObject(resp.Result) || res.ResultCode == "" {
		return "", jobResult{}, fmt.Errorf("%w: complete job without a result code", ErrBadResponse)
	}
	return c.codes.classify(res.ResultCode, resp.JobSuccess), res, nil
}

// matchJob insists that a result is about the registered job.
func matchJob(pp inPartnerParams, e Entry) error {
	if pp.JobID != e.JobID || pp.UserID != e.UserID || !pp.JobType.isAuthentication() {
		return ErrJobMismatch
	}
	return nil
}

func isJSONObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func resultOf(e Entry, changed bool) Result {
	return Result{
		JobID: e.JobID, UserID: e.UserID, StateHandle: e.StateHandle, State: e.State,
		ResultCode: e.ResultCode, ResultText: e.ResultText, SmileJobID: e.SmileJobID,
		Changed: changed,
	}
}
