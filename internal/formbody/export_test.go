package formbody

import (
	"fmt"
	"net/http"
	"strings"
)

// ParseRequestGeneral is ParseRequest with every fast path off: the
// reading the fast paths must agree with.
func ParseRequestGeneral(r *http.Request, max int64, spec Spec) (Fields, []byte, error) {
	return parseRequest(r, max, &spec, true, nil)
}

// DescribeFields writes out everything Fields holds, for comparing two
// readings.
func DescribeFields(f Fields) string {
	var b strings.Builder
	fmt.Fprintf(&b, "user=%q/%v device=%q/%v", f.user, f.hasUser, f.device, f.hasDevice)
	for _, fl := range f.list {
		fmt.Fprintf(&b, " [%q=%q kind %d]", fl.name, fl.value, fl.kind)
	}
	return b.String()
}

// PolicyCase is a request of the package's own test corpora.
type PolicyCase struct {
	Name, ContentType, Body, Query string
	Spec                           Spec
}

// PolicyCases are the refusal cases (refusal_test.go) and, with the
// password-leak test's variants, what FuzzParse starts from.
func PolicyCases() []PolicyCase {
	var out []PolicyCase
	for _, tc := range refusals() {
		out = append(out, PolicyCase{Name: tc.name, ContentType: tc.ct, Body: tc.body, Query: tc.query, Spec: tc.spec})
		for i, body := range withPassword(tc) {
			out = append(out, PolicyCase{Name: fmt.Sprintf("%s (password %d)", tc.name, i), ContentType: tc.ct, Body: body, Query: tc.query, Spec: tc.spec})
		}
	}
	return out
}
