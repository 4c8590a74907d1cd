package login

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/formbody"
)

// operationMapping turns a request into SmartID operation fields. Values
// are placeholder templates: constants, Caddy placeholders, and
// {login_guard.field.<name>} for fields of the parsed body (never a
// password field).
type operationMapping struct {
	paths     []string // sorted for deterministic output
	templates map[string]string
}

func compileOperationMapping(m map[string]string) (*operationMapping, error) {
	om := &operationMapping{templates: map[string]string{}}
	for path, tmpl := range m {
		if _, ok := smartid.OperationField(path); !ok {
			return nil, fmt.Errorf("unknown operation field %q (see the operation paths in docs/configuration.md)", path)
		}
		om.templates[path] = tmpl
		om.paths = append(om.paths, path)
	}
	sort.Strings(om.paths)
	return om, nil
}

// referencedFields lists the body fields the mapping reads, so the parser
// protects them like the user field: a repeated amount is refused rather
// than the guard and the app reading different ones.
func (om *operationMapping) referencedFields() []string {
	var out []string
	for _, p := range om.paths {
		rest := om.templates[p]
		for {
			i := strings.Index(rest, "{"+fieldPlaceholderPrefix)
			if i < 0 {
				break
			}
			rest = rest[i+1+len(fieldPlaceholderPrefix):]
			name, after, ok := strings.Cut(rest, "}")
			if !ok {
				break
			}
			out = append(out, name)
			rest = after
		}
	}
	return out
}

// resolve evaluates the mapping for one request. Typed fields that are not
// plain decimals are reported, not guessed; the error never quotes the value.
func (om *operationMapping) resolve(r *http.Request, x *exchange) (map[string]string, error) {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		repl = caddy.NewReplacer()
	}
	// The replacer keeps the function after the request (an access log
	// may name a field), so the exchange must not be recycled.
	repl.Map(x.fieldPlaceholder)
	x.retain()
	out := make(map[string]string, len(om.paths)+3)
	for _, p := range om.paths {
		v := repl.ReplaceKnown(om.templates[p], "")
		if v == "" {
			continue
		}
		// Only plain ASCII decimals: a value some framework reads as
		// another number (" 5", "５", "0x1p4", "1_0", "0100", or more
		// digits than a float64 holds) is not guessed at.
		switch kind, _ := smartid.OperationField(p); kind {
		case smartid.FieldInt:
			if !formbody.ExactInteger(v) {
				return nil, fmt.Errorf("operation field %s is not a plain decimal integer", p)
			}
		case smartid.FieldNumber:
			if !formbody.ExactDecimal(v) {
				return nil, fmt.Errorf("operation field %s is not a plain decimal number", p)
			}
		}
		out[p] = v
	}
	// The seed ties an operation to its login by account.client and
	// account.session: with the guard's session they are the session's,
	// whatever a mapping says (a body field or header there would let a
	// client file its operation under another user's login).
	if x.HasSession {
		out["account.client"] = x.Session.User
		out["account.session"] = x.Session.Session
	}
	if _, ok := out["timestamp"]; !ok {
		out["timestamp"] = x.Start.UTC().Format(time.RFC3339)
	}
	return out, nil
}

const fieldPlaceholderPrefix = "login_guard.field."

// fieldPlaceholder resolves {login_guard.field.<name>} from the parsed
// body. Password fields were dropped by the parser, so they resolve to
// nothing.
func (x *exchange) fieldPlaceholder(key string) (any, bool) {
	name, ok := strings.CutPrefix(key, fieldPlaceholderPrefix)
	if !ok {
		return nil, false
	}
	v, _ := x.Fields.Get(name)
	return v, true
}
