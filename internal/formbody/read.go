package formbody

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
)

// DefaultMaxBody is the body limit when Read is given max <= 0: a login or
// operation form is a few hundred bytes, a SmartID payload a few KiB.
const DefaultMaxBody int64 = 64 << 10

// MaxMaxBody is the largest body limit a route may set.
const MaxMaxBody int64 = 1 << 30

// Read reads r's body, at most max bytes (DefaultMaxBody when max <= 0),
// and puts back a body that yields exactly the same bytes, so the upstream
// sees the request unchanged: r.ContentLength, the headers and
// TransferEncoding are not touched, and closing the new body closes the
// original one.
//
// It refuses, without reading, a declared Content-Length above max (413)
// and a Content-Encoding other than identity (415). A chunked body is read
// up to max+1 bytes and refused (413) if longer; the whole body is never
// buffered first. A transport error (client reset mid-body) or a body
// shorter than its Content-Length is a 400 body_read refusal. After a
// refusal r.Body is left as it was (partly consumed): the request must not
// be forwarded.
//
// A request without a body (nil or http.NoBody) yields nil and is left
// alone, whatever its Content-Encoding.
func Read(r *http.Request, max int64) ([]byte, error) {
	body, err := readBody(r, max, exactBuffer)
	if err != nil || body == nil {
		return nil, err
	}
	r.Body = newReplayBody(body, r.Body)
	return body, nil
}

// readBody is Read without putting the body back. alloc(n) returns the
// empty buffer for a body of n bytes, with a capacity of at least n+1: a
// parse may want room after the body for decoded values, or the buffer in
// an allocation of its own.
func readBody(r *http.Request, max int64, alloc func(n int64) []byte) ([]byte, error) {
	max, hasBody, err := startRead(r, max)
	if !hasBody {
		return nil, err
	}
	if r.ContentLength >= 0 {
		return readDeclared(r, alloc(r.ContentLength), max)
	}
	return readChunked(r.Body, max, alloc)
}

// startRead is what readBody checks before reading: it returns the limit
// (max, or DefaultMaxBody when max <= 0) and whether there is a body to
// read, false with the refusal when the request is refused unread.
// ParseRequest calls it and readDeclared itself, so that a body of
// declared length is read into memory allocated without a callback.
func startRead(r *http.Request, max int64) (limit int64, hasBody bool, err error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if r.Body == nil || r.Body == http.NoBody {
		// Nothing to decode, so a Content-Encoding changes nothing.
		return max, false, nil
	}
	if err := CheckContentEncoding(r.Header); err != nil {
		return max, false, err
	}
	if r.ContentLength > max {
		return max, false, tooLarge(max)
	}
	return max, true, nil
}

// readDeclared reads a body of declared length (r.ContentLength >= 0)
// into buf, whose capacity is at least r.ContentLength+1.
func readDeclared(r *http.Request, buf []byte, max int64) ([]byte, error) {
	body, err := fill(r.Body, buf, max)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) != r.ContentLength {
		return nil, newError(http.StatusBadRequest, ReasonBodyRead,
			"request body length does not match its Content-Length")
	}
	return body, nil
}

// exactBuffer is Read's buffer for a body of n bytes: one exact
// allocation, whose spare byte lets the final Read of a body of declared
// length report EOF (or an overlong body) without growing.
func exactBuffer(n int64) []byte { return make([]byte, 0, n+1) }

// scratchPool holds growth buffers for chunked bodies, whose size is
// unknown: the body is read into a pooled buffer and copied out once at its
// final size, so a chunked read costs one allocation instead of a doubling
// series. Buffers above maxPooled are dropped so a large configured max does
// not pin memory.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooled = 128 << 10

func readChunked(rd io.Reader, maxBytes int64, alloc func(int64) []byte) ([]byte, error) {
	bp := scratchPool.Get().(*[]byte)
	buf, err := fill(rd, (*bp)[:0], maxBytes)
	var body []byte
	if err == nil {
		body = append(alloc(int64(len(buf))), buf...)
	}
	if cap(buf) <= maxPooled {
		*bp = buf[:0]
		scratchPool.Put(bp)
	}
	return body, err
}

// fill appends from rd until EOF, never holding more than max+1 bytes.
func fill(rd io.Reader, buf []byte, maxBytes int64) ([]byte, error) {
	limit := maxBytes + 1
	idle := 0
	for {
		if len(buf) == cap(buf) {
			grow := int64(max(cap(buf), 512))
			grow = min(grow, limit-int64(len(buf)))
			buf = slices.Grow(buf, int(grow))
		}
		room := buf[len(buf):cap(buf)]
		if int64(len(buf))+int64(len(room)) > limit {
			room = room[:limit-int64(len(buf))]
		}
		n, err := rd.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > maxBytes {
			return buf, tooLarge(maxBytes)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, readError(err)
		}
		if n == 0 {
			// A reader that makes no progress would spin forever.
			if idle++; idle >= 100 {
				return buf, readError(io.ErrNoProgress)
			}
		} else {
			idle = 0
		}
	}
}

func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		// A limit set earlier in the chain (Caddy's request_body) is
		// still a too-large body, whatever our own max.
		return newError(http.StatusRequestEntityTooLarge, ReasonBodyTooLarge,
			"request body exceeds the server's limit")
	}
	e := newError(http.StatusBadRequest, ReasonBodyRead, "reading request body")
	e.cause = err
	return e
}
