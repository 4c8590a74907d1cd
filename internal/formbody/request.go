package formbody

import (
	"net/http"
	"net/url"
)

// ParseRequest reads and parses r in one step: Read with max, then Parse
// with the Content-Type header and the URL query. It also refuses a request
// with more than one Content-Type header and a query string that does not
// parse (a ';' separator, a bad escape), since an app might read either
// differently from the guard.
func ParseRequest(r *http.Request, max int64, spec Spec) (Fields, []byte, error) {
	body, err := Read(r, max)
	if err != nil {
		return Fields{}, nil, err
	}
	ct := r.Header.Values("Content-Type")
	if len(ct) > 1 {
		spec = spec.withDefaults()
		return Fields{}, body, newError(spec.UnsupportedStatus, ReasonUnsupportedMediaType,
			"request has more than one Content-Type header")
	}
	var query url.Values
	if r.URL != nil && r.URL.RawQuery != "" {
		query, err = url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return Fields{}, body, malformed(ReasonMalformedQuery, "query string does not parse")
		}
	}
	contentType := ""
	if len(ct) == 1 {
		contentType = ct[0]
	}
	f, err := Parse(contentType, body, query, spec)
	return f, body, err
}
