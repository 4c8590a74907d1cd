package caddyopt

import (
	"strings"
	"testing"
)

func TestResolverRefusesEmptyPlaceholders(t *testing.T) {
	t.Setenv("LOGIN_GUARD_TEST_SET", "value")
	t.Setenv("LOGIN_GUARD_TEST_EMPTY", "")
	r := NewResolver()
	if got := r.Value("a", "pre-{env.LOGIN_GUARD_TEST_SET}"); got != "pre-value" || r.Err != nil {
		t.Fatalf("set variable: %q, %v", got, r.Err)
	}
	if got := r.Value("b", "literal {not_a_placeholder}"); got != "literal {not_a_placeholder}" || r.Err != nil {
		t.Fatalf("unknown placeholder: %q, %v", got, r.Err)
	}
	if got := r.Value("c", ""); got != "" || r.Err != nil {
		t.Fatalf("an empty value written as such is not an error: %q, %v", got, r.Err)
	}
	if got := r.Value("header Authorization", "Bearer {env.LOGIN_GUARD_TEST_EMPTY}"); got != "" || r.Err == nil ||
		!strings.Contains(r.Err.Error(), "header Authorization") || !strings.Contains(r.Err.Error(), "{env.LOGIN_GUARD_TEST_EMPTY}") {
		t.Fatalf("empty variable inside a value: %q, %v", got, r.Err)
	}
	first := r.Err
	r.Value("d", "{env.LOGIN_GUARD_TEST_UNSET_FOR_SURE}")
	if r.Err != first {
		t.Fatalf("the first error is kept: %v", r.Err)
	}
}
