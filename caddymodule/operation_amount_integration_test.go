package caddymodule_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

const amountSite = `{{listen}} {
	login_guard /transfer {
		event operation
		operation {
			order.amount {login_guard.field.amount}
			order.currency EUR
		}
	}
	login_guard /transfer-lax {
		event operation
		on_invalid_operation pass
		operation {
			order.amount {login_guard.field.amount}
			order.currency EUR
		}
	}
	reverse_proxy %s
}`

// TestOperationAmountIsASumOfMoney: the reference's order.amount is a sum
// of money in order.currency (0.00 in its example), so a negative amount
// (-0 included) is an invalid operation, handled as the route says of
// any: refused with 400 invalid_operation by default, passed with no
// SmartID event under on_invalid_operation pass. Zero and the largest
// amount the mapping takes are sent.
func TestOperationAmountIsASumOfMoney(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusOK) })
	sid := smartIDServer(t)
	g := caddytest.Start(t, smartidGlobal(sid.URL), fmt.Sprintf(amountSite, upstream.Listener.Addr()))
	negative := []string{"-5", "-0.01", "-1250.50", "-0", "-0.00", "-999999999999999"}
	for _, amount := range negative {
		resp, _ := g.Post(t, "/transfer", formType, "amount="+amount)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("amount %s: status %d, want 400", amount, resp.StatusCode)
		}
		if reasons := fmt.Sprint(lastAudit(t, g)["reasons"]); reasons != "[bad_request_invalid_operation]" {
			t.Errorf("amount %s: reasons %s", amount, reasons)
		}
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("%d transfers of a negative amount reached the portal", n)
	}
	for _, amount := range negative {
		resp, _ := g.Post(t, "/transfer-lax", formType, "amount="+amount)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("on_invalid_operation pass, amount %s: status %d, want 200", amount, resp.StatusCode)
		}
		if a := lastAudit(t, g); a["smartid"] != "invalid" {
			t.Errorf("on_invalid_operation pass, amount %s: smartid %v, want invalid", amount, a["smartid"])
		}
	}
	if n := len(upstream.All()); n != len(negative) {
		t.Fatalf("on_invalid_operation pass: %d transfers reached the portal, want %d", n, len(negative))
	}
	// No event was queued for any of them: the first SmartID gets is the
	// next valid operation's.
	for _, c := range []struct {
		amount string
		want   float64
	}{{"0.00", 0}, {"999999999999999", 999999999999999}, {"12.50", 12.5}} {
		if resp, _ := g.Post(t, "/transfer", formType, "amount="+c.amount); resp.StatusCode != http.StatusOK {
			t.Fatalf("amount %s: status %d, want 200", c.amount, resp.StatusCode)
		}
		op := checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/operation")
		if order, _ := op["order"].(map[string]any); order == nil || order["amount"] != c.want || order["currency"] != "EUR" {
			t.Fatalf("amount %s: SmartID got %v", c.amount, op)
		}
	}
}
