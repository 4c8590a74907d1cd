package loginid

// maxKIDLen bounds a kid. LoginID's kids are UUIDs (36 characters); the
// margin allows other opaque ids without letting a header smuggle a long
// string into a URL or a cache key.
const maxKIDLen = 128

// validKID reports whether kid is safe to use as a cache key and as a URL
// query value: 1..maxKIDLen characters from [A-Za-z0-9._-]. Anything else
// is refused before any lookup, so a hostile header never reaches the key
// host (and is URL-escaped anyway when it does).
func validKID(kid string) bool {
	if kid == "" || len(kid) > maxKIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
