package rules

import (
	"slices"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// WhenRule fires when its CEL expression is true. The expression is
// compiled and type-checked when the rule is parsed (it must be bool) and
// runs under DefaultCostLimit. A run-time failure applies the rule's
// action with the extra reason rule_error (failing open would let an
// attacker dodge the rule by making it fail) and is reported to the
// policy's OnError hook.
type WhenRule struct {
	ruleCommon
	src         string
	prg         cel.Program
	counterRefs []string
	usesCounter bool
	// readsEngine: the expression names score, has_score or
	// engine_reasons, which hold something only once engines answered.
	readsEngine bool
}

// ParseWhen compiles a when rule, e.g.
// ParseWhen(`!ip_in(ip, "10.0.0.0/8") && assertion != "valid"`, "challenge", "outside_vpn").
// The reason defaults to "when"; give one per rule to tell them apart in
// metrics and audit lines.
func ParseWhen(expr string, opts ...string) (*WhenRule, error) {
	c, err := parseOptions("when", opts, true, true, true)
	if err != nil {
		return nil, err
	}
	if c.reason == "" {
		c.reason = ReasonWhen
	}
	env, err := environment()
	if err != nil {
		return nil, compileError("environment: %v", err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, compileError("%v", iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, compileError("expression must be bool, not %s", ast.OutputType())
	}
	r := &WhenRule{ruleCommon: c, src: expr}
	if err := r.inspect(ast); err != nil {
		return nil, err
	}
	r.prg, err = env.Program(ast, cel.CostLimit(DefaultCostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, compileError("%v", err)
	}
	return r, nil
}

// inspect checks what the type checker cannot: ip_in ranges are valid
// literals, and notes which counters are named so the policy can reject a
// name no rule of the route counts.
func (r *WhenRule) inspect(ast *cel.Ast) error {
	nav := celast.NavigateAST(ast.NativeRep())
	for _, call := range celast.MatchDescendants(nav, celast.FunctionMatcher("ip_in")) {
		args := call.AsCall().Args()
		if len(args) != 2 || args[1].Kind() != celast.LiteralKind {
			return compileError("ip_in: the range must be a string literal such as \"10.0.0.0/8\"")
		}
		s, ok := args[1].AsLiteral().(types.String)
		if !ok {
			return compileError("ip_in: the range must be a string")
		}
		if _, err := parsePrefix(string(s)); err != nil {
			return compileError("ip_in: %v", err)
		}
	}
	for _, e := range celast.MatchDescendants(nav, celast.AllMatcher()) {
		switch e.Kind() {
		case celast.IdentKind:
			switch e.AsIdent() {
			case "counters":
				r.usesCounter = true
			case "score", "has_score", "engine_reasons":
				r.readsEngine = true
			}
		case celast.SelectKind:
			sel := e.AsSelect()
			if isIdent(sel.Operand(), "counters") && !sel.IsTestOnly() {
				r.addCounterRef(sel.FieldName())
			}
		case celast.CallKind:
			call := e.AsCall()
			args := call.Args()
			if call.FunctionName() == operators.Index && len(args) == 2 && isIdent(args[0], "counters") &&
				args[1].Kind() == celast.LiteralKind {
				if s, ok := args[1].AsLiteral().(types.String); ok {
					r.addCounterRef(string(s))
				}
			}
		}
	}
	return nil
}

func isIdent(e celast.Expr, name string) bool {
	return e.Kind() == celast.IdentKind && e.AsIdent() == name
}

func (r *WhenRule) addCounterRef(name string) {
	if !slices.Contains(r.counterRefs, name) {
		r.counterRefs = append(r.counterRefs, name)
	}
}

// ReadsEngineSignals reports whether the expression reads what engines
// answer (score, has_score, engine_reasons), as the type-checked
// expression says: a name inside a string literal or a map key does not
// count.
func (r *WhenRule) ReadsEngineSignals() bool { return r.readsEngine }

// WaitsForEngines reports whether a rule belongs after the engines: a
// `when` that reads engine signals and no counters (counters are only
// known while the route's counting rules run, before the engines). Every
// other rule runs first, so a rate limit saves the engine call.
func WaitsForEngines(r Rule) bool {
	w, ok := r.(*WhenRule)
	return ok && w.readsEngine && !w.usesCounter
}

// Expression returns the rule's source.
func (r *WhenRule) Expression() string { return r.src }

// String implements Rule.
func (r *WhenRule) String() string {
	s := "when " + quote(r.src) + " " + r.action.String()
	if r.reason != ReasonWhen {
		s += " " + r.reason
	}
	if r.monitor {
		s += " monitor"
	}
	return s
}

// eval runs the expression against an activation.
func (r *WhenRule) eval(act *activation) (bool, error) {
	out, _, err := r.prg.Eval(act)
	if err != nil {
		return false, err
	}
	return out == types.True, nil
}
