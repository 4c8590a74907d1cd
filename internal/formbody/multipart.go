package formbody

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// parseMultipart reads multipart/form-data the way Go's ParseMultipartForm
// does (a part with a non-empty filename is a file and is skipped), and
// refuses what parsers disagree on: a part without a parseable form-data
// Content-Disposition, and a Content-Transfer-Encoding that would make a
// decoding parser read other bytes than the guard (Go decodes
// quoted-printable). Parts are capped at spec.MaxParts, files included.
func parseMultipart(body []byte, boundary string, spec *Spec) (Fields, error) {
	if boundary == "" {
		return Fields{}, malformed(ReasonMalformedMultipart, "multipart body has no boundary parameter")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var f Fields
	for parts := 0; ; parts++ {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return Fields{}, malformed(ReasonMalformedMultipart, "multipart body does not parse")
		}
		if parts >= spec.MaxParts {
			return Fields{}, newError(http.StatusBadRequest, ReasonTooManyParts,
				"multipart body has more parts than allowed")
		}
		if !identityTransfer(p.Header.Get("Content-Transfer-Encoding")) {
			return Fields{}, newError(http.StatusUnsupportedMediaType, ReasonContentEncoding,
				"multipart part has a Content-Transfer-Encoding the guard does not read")
		}
		disposition, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if err != nil || disposition != "form-data" {
			return Fields{}, malformed(ReasonMalformedMultipart, "multipart part has no form-data Content-Disposition")
		}
		name := params["name"]
		if name == "" || params["filename"] != "" || spec.isPassword(name) {
			// Unnamed parts and files are not form values; passwords
			// are never read. NextRawPart discards what is left.
			continue
		}
		value, err := io.ReadAll(p)
		if err != nil {
			return Fields{}, malformed(ReasonMalformedMultipart, "multipart body does not parse")
		}
		f.list = append(f.list, field{name: name, value: string(value), kind: kindString})
	}
}

func identityTransfer(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}
