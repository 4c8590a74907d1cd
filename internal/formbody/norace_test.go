//go:build !race

package formbody_test

const corpusShare = 1
