package rules

import (
	"fmt"
	"net/netip"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// DefaultCostLimit bounds one when expression's run-time cost, in CEL cost
// units (about one per operation; string operations cost in proportion to
// length). An expression over the limit fails, and a failed expression
// applies its rule's action, so a client sending huge headers to exhaust
// the budget only hurts itself.
const DefaultCostLimit = 10_000

// maxExpressionLen bounds an expression's source.
const maxExpressionLen = 4096

// Variables an expression can read. Strings are empty when unknown.
//
//	route, event       string  the guarded route's name and event kind
//	user               string  the user name, normalised (see Normalizer)
//	user_raw           string  the user name as submitted
//	ip                 string  the client address ("" if unknown)
//	user_agent         string
//	device             string  "missing", "empty" or "present"
//	device_present     bool    the SmartID field was in the request
//	device_empty       bool    it was there but empty
//	session_present    bool    a session id is known
//	assertion          string  "", "valid" or "invalid"
//	score, has_score   double, bool  the engines' highest risk score
//	engine_reasons     list(string)
//	headers            map(string, string)  lower-case names, values joined by ", "
//	counters           map(string, int)     this attempt's counts, by counting rule name
//
// Functions: ip_in(ip, "10.0.0.0/8") is true when the address is in the
// range (the range must be a string literal, checked when the rule is
// parsed; IPv4-mapped IPv6 addresses match IPv4 ranges).
var exprVars = []cel.EnvOption{
	cel.Variable("route", cel.StringType),
	cel.Variable("event", cel.StringType),
	cel.Variable("user", cel.StringType),
	cel.Variable("user_raw", cel.StringType),
	cel.Variable("ip", cel.StringType),
	cel.Variable("user_agent", cel.StringType),
	cel.Variable("device", cel.StringType),
	cel.Variable("device_present", cel.BoolType),
	cel.Variable("device_empty", cel.BoolType),
	cel.Variable("session_present", cel.BoolType),
	cel.Variable("assertion", cel.StringType),
	cel.Variable("score", cel.DoubleType),
	cel.Variable("has_score", cel.BoolType),
	cel.Variable("engine_reasons", cel.ListType(cel.StringType)),
	cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
	cel.Variable("counters", cel.MapType(cel.StringType, cel.IntType)),
}

var (
	exprEnvOnce sync.Once
	exprEnv     *cel.Env
	exprEnvErr  error
)

// environment is built once: it holds no per-policy state, so every
// expression of every policy shares it.
func environment() (*cel.Env, error) {
	exprEnvOnce.Do(func() {
		opts := append([]cel.EnvOption{}, exprVars...)
		opts = append(opts,
			cel.Function("ip_in",
				cel.Overload(ipInOverload,
					[]*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
					cel.BinaryBinding(ipIn))),
			cel.ParserExpressionSizeLimit(maxExpressionLen),
		)
		exprEnv, exprEnvErr = cel.NewEnv(opts...)
	})
	return exprEnv, exprEnvErr
}

// ipIn implements ip_in for expressions run with cost tracking. Parsing
// the literal range on every call costs no allocation and keeps the
// environment free of per-policy caches; expressions of bounded cost use
// ipInConstRange instead, which parses it once.
func ipIn(lhs, rhs ref.Val) ref.Val {
	ip, ok1 := lhs.(types.String)
	cidr, ok2 := rhs.(types.String)
	if !ok1 || !ok2 {
		return types.MaybeNoSuchOverloadErr(lhs)
	}
	a, err := netip.ParseAddr(string(ip))
	if err != nil {
		return types.False
	}
	p, err := parsePrefix(string(cidr))
	if err != nil {
		return types.NewErr("ip_in: %v", err)
	}
	return types.Bool(p.Contains(a.Unmap()))
}

// compileError wraps CEL's issues with the rule's name.
func compileError(format string, args ...any) error {
	return fmt.Errorf("when: "+format, args...)
}
