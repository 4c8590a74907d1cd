package smileid

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// call performs one outbound request with the client's timeout and reads
// at most MaxResponseBytes of the answer. A non-2xx answer becomes a
// *VendorError; check, when set, judges a 2xx answer and its error is the
// call's. Every error is scrubbed of the URL. The call is reported once,
// with its outcome, whatever made it fail.
func (c *Client) call(ctx context.Context, op Op, method, target, contentType string, body []byte, check func([]byte) error) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		// The URL parsed at New or came from Smile ID; do not quote it.
		return nil, fmt.Errorf("smileid: %s: cannot build request", op)
	}
	req.Header.Set("Content-Type", contentType)
	if contentType == "application/json" {
		req.Header.Set("Accept", "application/json")
	}
	start := c.cfg.Now()
	data, status, err := c.roundTrip(op, req)
	if err == nil && check != nil {
		err = check(data)
	}
	c.cfg.Observer.Observe(Report{Op: op, Status: status, Duration: c.cfg.Now().Sub(start), Outcome: outcome(ctx, err), Err: err})
	if err != nil {
		return nil, err
	}
	return data, nil
}

// roundTrip sends req and reads its answer: the body of a 2xx answer, the
// status whenever one arrived.
func (c *Client) roundTrip(op Op, req *http.Request) ([]byte, int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("smileid: %s: %w", op, errTransport{scrubURLError(err)})
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("smileid: %s: reading response: %w", op, errTransport{scrubURLError(err)})
	}
	if int64(len(data)) > c.cfg.MaxResponseBytes {
		return nil, resp.StatusCode, fmt.Errorf("smileid: %s: %w", op, ErrResponseTooLarge)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, &VendorError{Op: op, Status: resp.StatusCode, Code: vendorCode(data)}
	}
	return data, resp.StatusCode, nil
}

// vendorCode extracts Smile ID's error code ({"code":"2205",...}) from an
// error body when it is a short string of digits; anything else is
// dropped rather than echoed.
func vendorCode(body []byte) string {
	var v struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Code) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Code, &s) != nil {
		s = string(v.Code) // a bare number
	}
	if len(s) == 0 || len(s) > 8 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	return s
}
