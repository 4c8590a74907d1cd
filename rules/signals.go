package rules

// Signals is what the guard learned about an attempt besides the request
// itself, gathered before the rules run. A nil *Signals means none.
type Signals struct {
	// Score is the highest risk score an engine reported, when HasScore.
	Score    float64
	HasScore bool
	// EngineReasons are the reasons the engines gave (engine_decline,
	// engine_challenge, ...), for expressions.
	EngineReasons []string
	// DeviceID is a stable device identifier when an engine or the Caddy module
	// knows one. Device-keyed rules use it, and fall back to a digest of
	// the SmartID payload: that payload is opaque and may be re-encrypted
	// on every page load, in which case a device key counts one page
	// load (still enough to catch a script replaying a captured payload).
	DeviceID string
}
