package formbody

import (
	"bytes"
	"io"
)

// replayBody hands the upstream the exact bytes the guard read, and closes
// the original body when the upstream closes it, so the server can still
// reuse or tear down the connection as it would have.
type replayBody struct {
	bytes.Reader
	orig io.Closer
}

func (b *replayBody) Close() error { return b.orig.Close() }

func newReplayBody(data []byte, orig io.Closer) *replayBody {
	b := &replayBody{orig: orig}
	b.Reset(data)
	return b
}
