package passkeys

import (
	"io"
	"net/http"
)

// readBody reads a Finish request body up to the configured cap; a larger
// body is refused rather than truncated.
func (p *Passkeys) readBody(r *http.Request) ([]byte, error) {
	if r == nil || r.Body == nil {
		return nil, refused(ReasonMalformed, nil)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, p.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, refused(ReasonMalformed, err)
	}
	if int64(len(b)) > p.cfg.MaxBodyBytes {
		return nil, refused(ReasonBodyTooLarge, nil)
	}
	return b, nil
}
