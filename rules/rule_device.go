package rules

import "fmt"

// DeviceRule fires when the SmartID payload is absent from the request
// (device missing: the field was stripped or the page never had the SDK)
// or present but empty (device empty: the SDK failed in the browser).
type DeviceRule struct {
	ruleCommon
	// Empty is true for "device empty", false for "device missing".
	Empty bool
}

// ParseDevice builds a device rule, e.g. ParseDevice("missing", "challenge").
func ParseDevice(which string, opts ...string) (*DeviceRule, error) {
	r := &DeviceRule{}
	switch which {
	case "missing":
	case "empty":
		r.Empty = true
	default:
		return nil, fmt.Errorf("device: want missing or empty, not %q", which)
	}
	c, err := parseOptions("device", opts, true, false, false)
	if err != nil {
		return nil, err
	}
	r.ruleCommon = c
	r.reason = ReasonDeviceMissing
	if r.Empty {
		r.reason = ReasonDeviceEmpty
	}
	return r, nil
}

func (r *DeviceRule) fires(a *Attempt) bool {
	if r.Empty {
		return a.DevicePresent && a.Device == ""
	}
	return !a.DevicePresent
}

// String implements Rule.
func (r *DeviceRule) String() string {
	w := "missing"
	if r.Empty {
		w = "empty"
	}
	return "device " + w + r.suffix()
}
