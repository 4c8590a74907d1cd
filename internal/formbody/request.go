package formbody

import (
	"net/http"
	"net/url"
)

// checkTrailers refuses a request that sent trailers (HTTP/1.1 chunked or
// HTTP/2). They arrive after the body, where the guard's header checks (the
// X-Login-Guard-* strip among them) never look, and some servers and
// proxies merge them into the headers the portal reads. A login form never
// needs them. Read has consumed the body, so r.Trailer is complete.
func checkTrailers(t http.Header) error {
	for _, vs := range t {
		if len(vs) > 0 {
			return newError(http.StatusBadRequest, ReasonTrailers, "request has trailers")
		}
	}
	return nil
}

// ParseRequest reads and parses r in one step: Read with max, then Parse
// with the Content-Type header and the URL query. It also refuses a request
// with more than one Content-Type header and a query string that does not
// parse (a ';' separator, a bad escape), since an app might read either
// differently from the guard, and a request that sent trailers.
func ParseRequest(r *http.Request, max int64, spec Spec) (Fields, []byte, error) {
	body, err := Read(r, max)
	if err != nil {
		return Fields{}, nil, err
	}
	if err := checkTrailers(r.Trailer); err != nil {
		return Fields{}, body, err
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
