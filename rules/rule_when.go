package rules

import (
	"net/http"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
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
	src string
	prg cel.Program
	// costBounded: the expression's cost has a static bound within
	// DefaultCostLimit, so prg runs without cost tracking.
	costBounded bool
	counterRefs []string
	usesCounter bool
	// readsEngine: the expression names score, has_score or
	// engine_reasons, which hold something only once engines answered.
	readsEngine bool
	// headerRefs are the header names (lower case) the expression reads
	// by literal; allHeaders is set when it reads the map any other way
	// (a variable key, exists(), size()), so every header counts as read.
	headerRefs []string
	allHeaders bool
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
	if r.prg, r.costBounded, err = program(env, ast); err != nil {
		return nil, err
	}
	return r, nil
}

// program plans a checked expression. When the checker's static estimate
// of its cost, made without any bound on the size of what it reads, is
// within DefaultCostLimit, no run can exceed the limit, so the program
// runs without run-time cost tracking (which costs more than most
// expressions themselves) and with ip_in's ranges parsed once here. Any
// expression whose cost grows with its input (contains, matches,
// comprehensions, string concatenation over request values) keeps the
// tracked program, which stops at the limit.
func program(env *cel.Env, ast *cel.Ast) (prg cel.Program, bounded bool, err error) {
	est, err := env.EstimateCost(ast, unsizedEstimator{})
	if err == nil && est.Max <= DefaultCostLimit {
		prg, err = env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CustomDecoratorV2(decorateIPIn))
		bounded = true
	} else {
		prg, err = trackedProgram(env, ast)
	}
	if err != nil {
		return nil, false, compileError("%v", err)
	}
	return prg, bounded, nil
}

// trackedProgram plans an expression with run-time cost tracking under
// DefaultCostLimit.
func trackedProgram(env *cel.Env, ast *cel.Ast) (cel.Program, error) {
	return env.Program(ast, cel.CostLimit(DefaultCostLimit), cel.EvalOptions(cel.OptOptimize))
}

// unsizedEstimator gives the cost checker no size for any variable or
// call, so the estimate holds for inputs of any size.
type unsizedEstimator struct{}

func (unsizedEstimator) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }

func (unsizedEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
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
	headerIdents, headerLiterals := 0, 0
	for _, e := range celast.MatchDescendants(nav, celast.AllMatcher()) {
		switch e.Kind() {
		case celast.IdentKind:
			switch e.AsIdent() {
			case "counters":
				r.usesCounter = true
			case "score", "has_score", "engine_reasons":
				r.readsEngine = true
			case "headers":
				headerIdents++
			}
		case celast.SelectKind:
			sel := e.AsSelect()
			if isIdent(sel.Operand(), "counters") && !sel.IsTestOnly() {
				r.addCounterRef(sel.FieldName())
			}
			if isIdent(sel.Operand(), "headers") {
				r.addHeaderRef(sel.FieldName())
				headerLiterals++
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
			if name, ok := headerLiteral(call); ok {
				r.addHeaderRef(name)
				headerLiterals++
			}
		}
	}
	r.allHeaders = headerIdents > headerLiterals
	return nil
}

// headerLiteral recognises headers["name"] and "name" in headers.
func headerLiteral(call celast.CallExpr) (string, bool) {
	args := call.Args()
	if len(args) != 2 {
		return "", false
	}
	var lit celast.Expr
	switch call.FunctionName() {
	case operators.Index:
		if !isIdent(args[0], "headers") {
			return "", false
		}
		lit = args[1]
	case operators.In:
		if !isIdent(args[1], "headers") {
			return "", false
		}
		lit = args[0]
	default:
		return "", false
	}
	if lit.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := lit.AsLiteral().(types.String)
	return string(s), ok
}

func (r *WhenRule) addHeaderRef(name string) {
	name = strings.ToLower(name)
	if !slices.Contains(r.headerRefs, name) {
		r.headerRefs = append(r.headerRefs, name)
	}
}

// repeatedHeader reports a header the expression reads that the request
// carries on more than one field line. The expression sees such values
// joined with ", ", while the portal's framework typically reads the first
// or the last line alone, so a rule keyed on the value could be dodged by
// repeating the header.
func (r *WhenRule) repeatedHeader(h http.Header) (string, bool) {
	if r.allHeaders {
		for k, vs := range h {
			if len(vs) > 1 {
				return k, true
			}
		}
		// Keys equal ignoring case are joined too.
		seen := make(map[string]bool, len(h))
		for k := range h {
			lk := strings.ToLower(k)
			if seen[lk] {
				return k, true
			}
			seen[lk] = true
		}
		return "", false
	}
	for _, name := range r.headerRefs {
		n := 0
		for k, vs := range h {
			if strings.EqualFold(k, name) {
				n += len(vs)
			}
		}
		if n > 1 {
			return name, true
		}
	}
	return "", false
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
