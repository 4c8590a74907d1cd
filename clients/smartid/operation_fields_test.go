package smartid

import (
	"strings"
	"testing"
	"time"
)

// TestOperationFields: every path of the schema can be set, typed fields
// refuse what does not parse without quoting it, and unknown paths are
// refused.
func TestOperationFields(t *testing.T) {
	op := &Operation{Transaction: Transaction{Details: map[string]string{}}}
	for path, kind := range operationSchema {
		v := "x"
		switch kind {
		case FieldInt:
			v = "42"
		case FieldNumber:
			v = "12.5"
		}
		if path == "timestamp" {
			v = "2026-01-02T03:04:05Z"
		}
		if err := op.SetField(path, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if op.Order.Amount != 12.5 || op.Account.ClientRefID != 42 || op.CreditCard.Last4Digits != "x" ||
		!op.Timestamp.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("fields not set: %+v", op)
	}
	if err := op.SetField("transaction.details.channel", "web"); err != nil || op.Transaction.Details["channel"] != "web" {
		t.Fatalf("details: %v %v", err, op.Transaction.Details)
	}
	for _, bad := range [][2]string{{"order.amount", "ten"}, {"account.clientRefId", "1.5"}, {"order.amout", "1"}, {"timestamp", "yesterday"}} {
		err := (&Operation{Transaction: Transaction{Details: map[string]string{}}}).SetField(bad[0], bad[1])
		if err == nil || strings.Contains(err.Error(), bad[1]) {
			t.Errorf("%s=%q: %v (want an error that does not quote the value)", bad[0], bad[1], err)
		}
	}
	// An amount is a sum of money: 0 up to below AmountLimit.
	for _, bad := range []string{"-5", "-0.01", "-0", "-0.00", "NaN", "Inf", "-Inf", "1e15", "1000000000000000", "1e300"} {
		err := (&Operation{}).SetField("order.amount", bad)
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("order.amount=%q: %v (want an error that does not quote the value)", bad, err)
		}
	}
	for _, good := range []string{"0", "0.00", "12.5", "999999999999999", "999999999999999.9"} {
		if err := (&Operation{}).SetField("order.amount", good); err != nil {
			t.Errorf("order.amount=%q: %v", good, err)
		}
	}
	if _, ok := OperationField("transaction.details.k"); !ok {
		t.Error("details keys are part of the schema")
	}
}
