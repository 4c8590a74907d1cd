package login

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestOperationFieldPlaceholderOutlivesRequest: an operation route gives
// the request's replacer a function reading the exchange's fields, and
// Caddy may call it after the handler returned (an access log naming
// {login_guard.field.amount}); later requests must not have reused that
// exchange, or the placeholder would read another request's body.
func TestOperationFieldPlaceholderOutlivesRequest(t *testing.T) {
	h := testHandler(t, &Handler{Name: "transfer", Event: EventOperation,
		Operation: map[string]string{"order.amount": "{login_guard.field.amount}"}})
	serve := func(amount string) *caddy.Replacer {
		r := newRequest(http.MethodPost, "/api/transfer", formType, "amount="+amount)
		if err := h.ServeHTTP(httptest.NewRecorder(), r, upstreamOK); err != nil {
			t.Fatal(err)
		}
		return r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	}
	first := serve("100")
	for i := 0; i < 50; i++ { // enough for the pool to hand an exchange back
		serve("999999")
	}
	if got := first.ReplaceAll("{login_guard.field.amount}", ""); got != "100" {
		t.Fatalf("the first request's placeholder reads %q after later requests, want 100", got)
	}
}

// TestRecycledExchangeIsCleared: an exchange taken from the pool holds
// nothing of the request that used it before (its user, its context, the
// body its fields point into), whatever path that request took.
func TestRecycledExchangeIsCleared(t *testing.T) {
	for _, c := range []struct {
		name string
		h    *Handler
		want int
	}{
		{"deny", &Handler{Name: "login", Event: EventLogin, DenyIP: []string{"198.51.100.0/24"}}, http.StatusForbidden},
		{"pass", &Handler{Name: "login", Event: EventLogin}, http.StatusSeeOther},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := testHandler(t, c.h)
			for i := 0; i < 20; i++ {
				w := httptest.NewRecorder()
				if err := h.ServeHTTP(w, newRequest(http.MethodPost, "/api/login", formType, benchForm), upstreamOK); err != nil || w.Code != c.want {
					t.Fatal(err, w.Code)
				}
				x := newExchange(h)
				if !reflect.DeepEqual(*x, exchange{h: h}) {
					t.Fatalf("a recycled exchange still holds a request: user %q, ctx %v", x.Attempt.User, x.Ctx)
				}
				x.release()
			}
		})
	}
}
