package httpengine

// ReasonOther replaces a service reason that is not in
// Config.AllowedReasons.
const ReasonOther = "engine_other"

// SanitizeReason reduces a service's reason to [a-z0-9_]: ASCII letters are
// lower-cased, every run of other bytes becomes one "_", leading and
// trailing "_" are dropped and the result is cut to maxLen bytes. It may
// return "" (nothing usable).
func SanitizeReason(s string, maxLen int) string {
	out := make([]byte, 0, min(len(s), maxLen))
	pendingSep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			pendingSep = len(out) > 0
			continue
		}
		if pendingSep {
			if len(out)+1 >= maxLen {
				break
			}
			out = append(out, '_')
			pendingSep = false
		}
		if len(out) >= maxLen {
			break
		}
		out = append(out, c)
	}
	return string(out)
}

// sanitizeReasons applies SanitizeReason to each reason, drops empties and
// duplicates, maps reasons outside allowed (when not nil) to ReasonOther
// and keeps at most maxCount.
func sanitizeReasons(in []string, maxCount, maxLen int, allowed map[string]bool) []string {
	var out []string
	for _, r := range in {
		if len(out) == maxCount {
			break
		}
		r = SanitizeReason(r, maxLen)
		if r == "" {
			continue
		}
		if allowed != nil && !allowed[r] {
			r = ReasonOther
		}
		dup := false
		for _, o := range out {
			dup = dup || o == r
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}
