package smartid

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Bounds of the response parser. SmartID answers an event with a status
// and a short JSON body; anything far beyond these is not an answer this
// client should spend memory or time on.
const (
	maxResponseHead   = 16 << 10 // status line and header lines together
	maxResponseFields = 64       // header lines
	maxInterim        = 4        // 1xx responses skipped before the real one
	maxChunkSizeLine  = 256      // a chunk's size line, extensions included
)

// errMalformedResponse is wrapped by every parse error: the connection is
// closed and the attempt counts as a transport failure (retried).
var errMalformedResponse = errors.New("malformed response")

func malformed(what string) error {
	return fmt.Errorf("%w: %s", errMalformedResponse, what)
}

// response is what an attempt needs from SmartID's answer.
type response struct {
	status     int
	retryAfter time.Duration // a 429/503's Retry-After in seconds, capped; 0 otherwise
	keepAlive  bool          // the connection may carry the next request
}

// readResponse reads one answer to a POST: status line, header fields and
// body, which is discarded. It is strict and bounded: HTTP/1.0 or 1.1, CRLF
// line ends, a body framed by Content-Length or chunked encoding (or none
// for 204 and 304); anything else is an error and the caller closes the
// connection. A body longer than maxResponseBytes is not read: the status
// stands and the connection is not kept.
func readResponse(br *bufio.Reader, backoffMax time.Duration) (response, error) {
	for range maxInterim + 1 {
		resp, interim, err := readOne(br, backoffMax)
		if err != nil || !interim {
			return resp, err
		}
	}
	return response{}, malformed("too many 1xx responses")
}

// readOne reads one response; interim reports a 1xx that was skipped.
func readOne(br *bufio.Reader, backoffMax time.Duration) (resp response, interim bool, err error) {
	budget := maxResponseHead
	line, err := readLine(br, &budget)
	if err != nil {
		return resp, false, err
	}
	var http11 bool
	switch {
	case len(line) >= 12 && string(line[:9]) == "HTTP/1.1 ":
		http11 = true
	case len(line) >= 12 && string(line[:9]) == "HTTP/1.0 ":
	default:
		return resp, false, malformed("status line")
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return resp, false, malformed("status code")
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 || code > 599 || len(line) > 12 && (line[12] != ' ' || !fieldValueOK(line[13:])) {
		return resp, false, malformed("status line")
	}
	resp.status = code
	resp.keepAlive = http11

	var (
		contentLength int64 = -1
		chunked       bool
		retryAfterRaw []byte
	)
	for fields := 0; ; fields++ {
		line, err := readLine(br, &budget)
		if err != nil {
			return resp, false, err
		}
		if len(line) == 0 {
			break
		}
		if fields == maxResponseFields {
			return resp, false, malformed("too many header fields")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !tokenOK(line[:colon]) {
			return resp, false, malformed("header field")
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		if !fieldValueOK(value) {
			return resp, false, malformed("header field value")
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, ok := parseDecimal(value)
			if !ok || contentLength >= 0 && n != contentLength {
				return resp, false, malformed("Content-Length")
			}
			contentLength = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			if chunked || !asciiEqualFold(value, "chunked") {
				return resp, false, malformed("Transfer-Encoding")
			}
			chunked = true
		case asciiEqualFold(name, "Connection"):
			if hasToken(value, "close") {
				resp.keepAlive = false
			}
		case asciiEqualFold(name, "Retry-After"):
			retryAfterRaw = value
		}
	}

	if code < 200 {
		if code == 101 {
			return resp, false, malformed("101 Switching Protocols")
		}
		return resp, true, nil
	}
	if code == 429 || code == 503 {
		resp.retryAfter = retryAfterSeconds(retryAfterRaw, backoffMax)
	}
	switch {
	case code == 204 || code == 304:
		// No body by definition, whatever the fields claim.
	case chunked && contentLength >= 0:
		return resp, false, malformed("both Content-Length and chunked")
	case chunked:
		return resp, false, discardChunked(br, &resp)
	case contentLength > maxResponseBytes:
		resp.keepAlive = false
	case contentLength >= 0:
		if _, err := br.Discard(int(contentLength)); err != nil {
			return resp, false, unexpectedEOF(err)
		}
	default:
		return resp, false, malformed("body without Content-Length or chunked encoding")
	}
	return resp, false, nil
}

// discardChunked reads a chunked body and its trailer, up to
// maxResponseBytes of data; a longer body ends the connection's reuse.
func discardChunked(br *bufio.Reader, resp *response) error {
	total := 0
	for {
		budget := maxChunkSizeLine
		line, err := readLine(br, &budget)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions carry nothing for us
		}
		line = bytes.TrimRight(line, " \t")
		size, ok := parseHex(line)
		if !ok {
			return malformed("chunk size")
		}
		if size == 0 {
			break
		}
		if total += size; total > maxResponseBytes {
			resp.keepAlive = false
			return nil
		}
		if _, err := br.Discard(size); err != nil {
			return unexpectedEOF(err)
		}
		budget = 2
		if crlf, err := readLine(br, &budget); err != nil || len(crlf) != 0 {
			if err != nil {
				return err
			}
			return malformed("chunk data")
		}
	}
	// Trailer fields, discarded, then the final empty line.
	budget := maxResponseHead
	for fields := 0; ; fields++ {
		line, err := readLine(br, &budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if fields == maxResponseFields {
			return malformed("too many trailer fields")
		}
	}
}

// readLine returns the next CRLF-terminated line without its end,
// charging its length to budget. The slice is valid until the next read.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	if *budget < 0 || errors.Is(err, bufio.ErrBufferFull) {
		return nil, malformed("line too long")
	}
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, malformed("line not ended by CRLF")
	}
	return line[:len(line)-2], nil
}

// unexpectedEOF turns a clean EOF in the middle of a response into
// io.ErrUnexpectedEOF; other read errors pass unchanged.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// tokenOK: a header field name, RFC 9110 token characters.
func tokenOK(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// fieldValueOK: visible characters, spaces, tabs and obs-text; no other
// control characters.
func fieldValueOK(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds tok.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if asciiEqualFold(bytes.Trim(item, " \t"), tok) {
			return true
		}
	}
	return false
}

// parseDecimal parses a Content-Length: 1 to 18 digits, nothing else.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseHex parses a chunk size: 1 to 7 hex digits (under 256 MiB, far
// beyond maxResponseBytes, so no overflow to care about).
func parseHex(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 7 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int(c)
	}
	return n, true
}
