package rules

import (
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// activation feeds one attempt to when expressions. It resolves variables
// on demand, so an expression that never reads headers or counters does
// not pay for building those maps.
type activation struct {
	a   *Attempt
	sig *Signals
	// subj is a copy, so the caller's subjects and counts stay on its
	// stack (the activation lives in a pool, on the heap).
	subj subjects

	counterNames []string
	counts       []int64
	counterMap   map[string]int64
	headerMap    map[string]string
}

var _ interpreter.Activation = (*activation)(nil)

func (x *activation) reset() {
	counts := x.counts[:0]
	*x = activation{counts: counts}
}

// Parent implements interpreter.Activation.
func (x *activation) Parent() interpreter.Activation { return nil }

// ResolveName implements interpreter.Activation.
func (x *activation) ResolveName(name string) (any, bool) {
	a := x.a
	switch name {
	case "route":
		return types.String(a.Route), true
	case "event":
		return types.String(a.Event), true
	case "user":
		x.subj.initUser()
		return types.String(x.subj.user), true
	case "user_raw":
		return types.String(a.User), true
	case "ip":
		if !a.IP.IsValid() {
			return types.String(""), true
		}
		return types.String(a.IP.Unmap().String()), true
	case "user_agent":
		return types.String(a.UserAgent), true
	case "device":
		switch {
		case !a.DevicePresent:
			return types.String("missing"), true
		case a.Device == "":
			return types.String("empty"), true
		}
		return types.String("present"), true
	case "device_present":
		return types.Bool(a.DevicePresent), true
	case "device_empty":
		return types.Bool(a.DevicePresent && a.Device == ""), true
	case "session_present":
		return types.Bool(a.Session != ""), true
	case "assertion":
		return types.String(a.Assertion), true
	case "score":
		if x.sig == nil || !x.sig.HasScore {
			return types.Double(0), true
		}
		return types.Double(x.sig.Score), true
	case "has_score":
		return types.Bool(x.sig != nil && x.sig.HasScore), true
	case "engine_reasons":
		if x.sig == nil {
			return []string{}, true
		}
		return x.sig.EngineReasons, true
	case "headers":
		if x.headerMap == nil {
			x.headerMap = make(map[string]string, len(a.Header))
			for k, v := range a.Header {
				x.headerMap[strings.ToLower(k)] = strings.Join(v, ", ")
			}
		}
		return x.headerMap, true
	case "counters":
		if x.counterMap == nil {
			x.counterMap = make(map[string]int64, len(x.counterNames))
			for i, n := range x.counterNames {
				x.counterMap[n] = x.counts[i]
			}
		}
		return x.counterMap, true
	}
	return nil, false
}
