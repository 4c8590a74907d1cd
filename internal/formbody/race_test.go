//go:build race

package formbody_test

// The race detector slows the differential test of the fast paths about
// tenfold; it runs a quarter of its generated corpus then.
const corpusShare = 4
