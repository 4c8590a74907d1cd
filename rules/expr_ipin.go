package rules

import (
	"net/netip"
	"slices"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// ipInOverload is ip_in's one overload.
const ipInOverload = "ip_in_string_string"

// ipInConstRange is an ip_in call whose range was parsed when the rule was
// compiled (the range is always a literal: inspect refuses anything else).
// When the address is the `ip` variable itself, read at the top of the
// expression, it tests the attempt's address directly instead of
// formatting it as a string and parsing it back. Both ways give the same
// answer: the variable is the unmapped address's text, and an address
// that does not parse is in no range.
type ipInConstRange struct {
	interpreter.InterpretableCall
	prefix   netip.Prefix
	addr     interpreter.InterpretableV2
	clientIP bool
}

// decorateIPIn replaces ip_in calls with a literal range by an
// ipInConstRange. It is used only by programs that run without cost
// tracking (the cost tracker accounts for each argument it sees
// evaluated, and this node may skip evaluating its first).
func decorateIPIn(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	call, ok := i.(interpreter.InterpretableCall)
	if !ok || call.OverloadID() != ipInOverload {
		return i, nil
	}
	args := call.Args()
	if len(args) != 2 {
		return i, nil
	}
	c, ok := args[1].(interpreter.InterpretableConst)
	if !ok {
		return i, nil
	}
	s, ok := c.Value().(types.String)
	if !ok {
		return i, nil
	}
	p, err := parsePrefix(string(s))
	if err != nil {
		return nil, compileError("ip_in: %v", err)
	}
	n := &ipInConstRange{InterpretableCall: call, prefix: p, addr: args[0]}
	if attr, ok := args[0].(interpreter.InterpretableAttribute); ok {
		if na, ok := attr.Attr().(interpreter.NamespacedAttribute); ok &&
			len(na.Qualifiers()) == 0 && slices.Equal(na.CandidateVariableNames(), []string{"ip"}) {
			n.clientIP = true
		}
	}
	return n, nil
}

// Exec implements interpreter.InterpretableV2.
func (n *ipInConstRange) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	// Only the expression's own frame: inside a comprehension an
	// iteration variable may be named ip too.
	if act, ok := frame.Activation.(*activation); ok && n.clientIP {
		ip := act.a.IP
		if !ip.IsValid() {
			return types.False
		}
		return types.Bool(n.prefix.Contains(ip.Unmap()))
	}
	v := n.addr.Exec(frame)
	if types.IsUnknownOrError(v) {
		return v
	}
	s, ok := v.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return types.False
	}
	return types.Bool(n.prefix.Contains(a.Unmap()))
}

// Eval implements interpreter.Interpretable.
func (n *ipInConstRange) Eval(vars interpreter.Activation) ref.Val {
	return n.Exec(interpreter.AsFrame(vars))
}
