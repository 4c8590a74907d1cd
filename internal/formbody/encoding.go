package formbody

import (
	"net/http"
	"strings"
)

// CheckContentEncoding refuses a body with a Content-Encoding other than
// identity. The guard does not decode (decompression would be a second,
// unbounded reader), so it could not see what an app that does decode would
// read. Read calls it before reading anything.
func CheckContentEncoding(h http.Header) error {
	// The key is canonical: indexing is what h.Values does, without
	// canonicalising it again.
	for _, v := range h["Content-Encoding"] {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok != "" && !strings.EqualFold(tok, "identity") {
				return newError(http.StatusUnsupportedMediaType, ReasonContentEncoding,
					"request body has a Content-Encoding the guard does not read")
			}
		}
	}
	return nil
}
