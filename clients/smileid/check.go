package smileid

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckHTTPSURL is the rule for the base URL and the callback URL the
// guard gives Smile ID: https, a host, and no credentials, query or
// fragment. name names the option in the error.
func CheckHTTPSURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("smileid: %s must be an https URL without credentials or query", name)
	}
	return nil
}

// CheckResultCodes checks Smile ID result codes: four digits each.
func CheckResultCodes(codes []string) error {
	for _, c := range codes {
		if len(c) != 4 || strings.Trim(c, "0123456789") != "" {
			return fmt.Errorf("smileid: result code %q is not four digits", c)
		}
	}
	return nil
}
