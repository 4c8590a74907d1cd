package passkeys

import (
	"fmt"
	"net/url"
	"strings"
)

// CleanOrigins checks that each of origins is scheme://host[:port] with
// nothing after it but an optional "/" (the browser reports exactly that,
// so anything more never matches), and returns them without that "/".
func CleanOrigins(origins []string) ([]string, error) {
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin like https://example.com", o)
		}
		out = append(out, strings.TrimSuffix(o, "/"))
	}
	return out, nil
}
