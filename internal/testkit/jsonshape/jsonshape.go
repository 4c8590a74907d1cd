// Package jsonshape checks that a JSON object has exactly the keys and
// value types a wire format lists: the check the fake vendor servers
// (and the clients' own tests) run on every body the guard sends.
package jsonshape

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Shape describes a JSON object: key → "string", "number", "bool",
// "object of strings", or a nested Shape. A key ending in "?" may be
// absent; every other key must be present, and no key outside the Shape
// may appear.
type Shape map[string]any

// Check returns an error naming every way raw differs from want; where
// names the object in the messages.
func Check(where string, raw []byte, want Shape) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s: not a JSON object: %v: %.200s", where, err, raw)
	}
	if obj == nil {
		return fmt.Errorf("%s: null, want an object", where)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, key := range keys {
		typ := want[key]
		name, optional := strings.CutSuffix(key, "?")
		v, ok := obj[name]
		if !ok {
			if !optional {
				errs = append(errs, fmt.Errorf("%s.%s: missing", where, name))
			}
			continue
		}
		switch typ := typ.(type) {
		case Shape:
			if err := Check(where+"."+name, v, typ); err != nil {
				errs = append(errs, err)
			}
		case string:
			if got := Type(v); got != typ && !(typ == "object" && got == "object of strings") {
				errs = append(errs, fmt.Errorf("%s.%s: %s, want %s (%s)", where, name, got, typ, v))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.%s: shape entry of type %T", where, name, typ))
		}
	}
	var extra []string
	for k := range obj {
		if _, ok := want[k]; !ok {
			if _, ok := want[k+"?"]; !ok {
				extra = append(extra, k)
			}
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		errs = append(errs, fmt.Errorf("%s: keys %v are not in the format", where, extra))
	}
	return errors.Join(errs...)
}

// Type names the JSON type of raw: "string", "number", "bool", "null",
// "array", "object of strings" (every value a string, the empty object
// included), "object", or "invalid".
func Type(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "invalid"
	}
	switch v := v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	case []any:
		return "array"
	case map[string]any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return "object"
			}
		}
		return "object of strings"
	}
	return "unknown"
}
