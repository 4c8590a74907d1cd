package smileid

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// call performs one outbound request with the client's timeout and reads
// at most MaxResponseBytes of the answer. A non-2xx answer becomes a
// *VendorError. Every error is scrubbed of the URL.
func (c *Client) call(ctx context.Context, op Op, method, target, contentType string, body []byte) ([]byte, error) {
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
	resp, err := c.http.Do(req)
	if err != nil {
		err = fmt.Errorf("smileid: %s: %w", op, scrubURLError(err))
		c.report(op, 0, start, err)
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		err = fmt.Errorf("smileid: %s: reading response: %w", op, scrubURLError(err))
		c.report(op, resp.StatusCode, start, err)
		return nil, err
	}
	if int64(len(data)) > c.cfg.MaxResponseBytes {
		err = fmt.Errorf("smileid: %s: %w", op, ErrResponseTooLarge)
		c.report(op, resp.StatusCode, start, err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err = &VendorError{Op: op, Status: resp.StatusCode, Code: vendorCode(data)}
		c.report(op, resp.StatusCode, start, err)
		return nil, err
	}
	c.report(op, resp.StatusCode, start, nil)
	return data, nil
}

func (c *Client) report(op Op, status int, start time.Time, err error) {
	c.cfg.Observer.Observe(Report{Op: op, Status: status, Duration: c.cfg.Now().Sub(start), Err: err})
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
