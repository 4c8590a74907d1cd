package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"net/http"
)

// statusClientClosed is what reverse_proxy records (with WriteHeader, no
// upstream answer behind it) when the client went away first.
const statusClientClosed = 499

// headWriter sits between the upstream and the client on guarded routes.
// It calls its judge exactly once, just before the response head is written,
// so the guard can judge the login and add or remove cookies while it still
// can. When the JSON success criterion needs the body, it holds the body
// back up to a cap; a larger body is released and judged without it.
type headWriter struct {
	w http.ResponseWriter
	// judge judges the answer just before its head is written.
	judge headJudge

	wantBody bool // hold the body for judging
	limit    int
	// ctx is the request's: a 499 written once it is cancelled is the
	// proxy noting the client's disconnect, not the upstream's answer.
	ctx context.Context

	// clientGone: the client left before any upstream answer; the head
	// was passed on (for the access log) but nothing was judged.
	clientGone bool

	status  int
	blocked bool // onHead withheld the answer
	headed  bool // onHead ran and the head reached w
	holding bool // head postponed while the body is collected
	held    bytes.Buffer
}

func (hw *headWriter) Header() http.Header { return hw.w.Header() }

// Unwrap lets http.ResponseController reach the real writer.
func (hw *headWriter) Unwrap() http.ResponseWriter { return hw.w }

func (hw *headWriter) WriteHeader(status int) {
	if hw.headed || hw.holding {
		return
	}
	if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
		hw.w.WriteHeader(status) // informational: not the final answer
		return
	}
	if status == statusClientClosed && hw.ctx != nil && hw.ctx.Err() != nil {
		hw.clientGone = true
		hw.w.WriteHeader(status)
		return
	}
	hw.status = status
	if hw.wantBody {
		hw.holding = true
		return
	}
	hw.release(nil, false)
}

// headJudge decides about an upstream answer just before its head is
// written; false withholds it: nothing reaches the client, and the caller
// answers instead. An interface rather than a closure, so that the
// exchange itself judges and a guarded request allocates no closure.
type headJudge interface {
	judgeHead(status int, hdr http.Header, body []byte, bodyComplete bool) (write bool)
}

// errWithheld stops the upstream's copy once its answer is withheld.
var errWithheld = errors.New("upstream response withheld by login_guard")

func (hw *headWriter) Write(p []byte) (int, error) {
	if hw.blocked {
		return 0, errWithheld
	}
	if hw.clientGone {
		return 0, context.Canceled
	}
	if !hw.headed && !hw.holding {
		hw.WriteHeader(http.StatusOK)
	}
	if hw.holding {
		if hw.held.Len()+len(p) <= hw.limit {
			return hw.held.Write(p)
		}
		// Too large to judge: release what is held and stream the rest.
		if err := hw.release(nil, false); err != nil {
			return 0, err
		}
		if hw.blocked {
			return 0, errWithheld
		}
	}
	return hw.w.Write(p)
}

// Flush is a no-op while the head is held back: flushing then would send
// a head the guard has not judged yet.
func (hw *headWriter) Flush() {
	if hw.holding || !hw.headed {
		return
	}
	_ = http.NewResponseController(hw.w).Flush()
}

// finish releases a held response once the upstream is done.
func (hw *headWriter) finish() error {
	if hw.holding {
		return hw.release(hw.held.Bytes(), true)
	}
	return nil
}

// release judges, writes the head and whatever was held.
func (hw *headWriter) release(body []byte, complete bool) error {
	wasHolding := hw.holding
	hw.holding = false
	hw.headed = true
	if !hw.judge.judgeHead(hw.status, hw.w.Header(), body, complete) {
		// Caddy's writers share one header map with the real response:
		// every upstream header goes, so no Set-Cookie leaks out.
		hdr := hw.w.Header()
		for k := range hdr {
			delete(hdr, k)
		}
		hw.blocked, hw.headed = true, false
		hw.held.Reset()
		return nil
	}
	hw.w.WriteHeader(hw.status)
	if wasHolding && hw.held.Len() > 0 {
		_, err := hw.w.Write(hw.held.Bytes())
		hw.held.Reset()
		return err
	}
	return nil
}

// answered reports whether the upstream produced a response head.
func (hw *headWriter) answered() bool { return hw.headed || hw.holding || hw.blocked }
