// Package testkeys gives tests a fresh keyset for the guard's tokens: one
// key made at a given time, as the app holds after its first start.
package testkeys

import (
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/tokens"
)

// Keyset is a keyset with one key made at at; a failure ends the test.
func Keyset(tb testing.TB, at time.Time) *tokens.Keyset {
	tb.Helper()
	st, err := tokens.NewStored(at)
	if err != nil {
		tb.Fatal(err)
	}
	ks, err := tokens.NewKeyset(st)
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}
