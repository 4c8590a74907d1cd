package smartid

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/smartidfake"
)

var (
	loginSchema = schema{"channelId": "number", "user": "string", "session": "string", "publicIp": "string", "data": "string"}

	// The objects of an operation, as the fake SmartID checks them.
	transactionSchema = smartidfake.Transaction
	accountSchema     = smartidfake.Account
	orderSchema       = smartidfake.Order
	accountToSchema   = smartidfake.AccountTo
	fundsSchema       = smartidfake.Funds
	creditCardSchema  = smartidfake.CreditCard
)

// fullOperation fills every field, like the reference's example.
func fullOperation() *Operation {
	return &Operation{
		ChannelKind: ChannelApp,
		Timestamp:   time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC),
		Transaction: Transaction{Category: "add account", Type: "ach", Description: "account name",
			Reference: "operation reference", Date: "datetime", Details: map[string]string{"key": "value", "b": "2"}},
		Account: Account{Client: "1564651jlopez", Session: "7gf7asdf4as7f",
			AccountNumber: "g489as4fa57gwad4a5g==", Bank: "ga8sdasfgasga=="},
		Order:      Order{Amount: 10.5, Currency: "GTQ"},
		AccountTo:  AccountTo{Client: "x"},
		DebitFrom:  FundsAccount{Account: "1"},
		CreditTo:   FundsAccount{Bank: "2"},
		CreditCard: CreditCard{Last4Digits: "4242"},
	}
}

func TestWireFormat(t *testing.T) {
	ip := netip.MustParseAddr("20.201.64.54")
	tests := []struct {
		name     string
		env      Environment
		endpoint string // path appended to the fake server's URL
		ev       Event
		wantPath string
		want     schema
		values   map[string]string // top-level key → exact raw JSON
	}{
		{
			name: "web login production", ev: Login{User: "jlopez", Session: "445613456fa", PublicIP: ip, Data: "ujOmfzNv5l/1SW+clQ=="},
			wantPath: "/api/v5/analytics/web/login", want: loginSchema,
			values: map[string]string{"channelId": "1", "user": `"jlopez"`, "session": `"445613456fa"`, "publicIp": `"20.201.64.54"`, "data": `"ujOmfzNv5l/1SW+clQ=="`},
		},
		{
			name: "web login without SDK data or session", ev: &Login{User: "jlopez", PublicIP: ip},
			wantPath: "/api/v5/analytics/web/login",
			want:     schema{"channelId": "number", "user": "string", "publicIp": "string", "data": "string"},
			values:   map[string]string{"data": `""`},
		},
		{
			name: "app login dev with channel override", env: Dev,
			ev:       Login{ChannelKind: ChannelApp, ChannelID: 2, User: "jlopez", Session: "s", PublicIP: netip.MustParseAddr("::ffff:20.201.64.54"), Data: "d"},
			wantPath: "/api-dev/v5/analytics/app/login", want: loginSchema,
			values: map[string]string{"channelId": "2", "publicIp": `"20.201.64.54"`},
		},
		{
			name: "web logout minimal", ev: Logout{User: "jlopez", Session: "445613456fa"},
			wantPath: "/api/v5/analytics/web/logout",
			want:     schema{"channelId": "number", "user": "string", "session": "string"},
		},
		{
			name: "app logout dev full", env: Dev, ev: &Logout{ChannelKind: ChannelApp, User: "u", Session: "s", PublicIP: netip.MustParseAddr("2001:db8::1"), Data: "d"},
			wantPath: "/api-dev/v5/analytics/app/logout", want: loginSchema,
			values: map[string]string{"publicIp": `"2001:db8::1"`},
		},
		{
			name: "app operation full behind a path prefix", endpoint: "/smartid/", ev: fullOperation(),
			wantPath: "/smartid/api/v5/analytics/app/operation",
			want: schema{"channelId": "number", "timestamp": "string", "transaction": transactionSchema, "account": accountSchema,
				"order": orderSchema, "accountTo": accountToSchema, "debitFrom": fundsSchema, "creditTo": fundsSchema, "creditCard": creditCardSchema},
			values: map[string]string{"timestamp": `"2025-03-04T05:06:07.890Z"`},
		},
		{
			name: "web operation dev, only timestamp and a zero-amount order", env: Dev, endpoint: "/p",
			ev:       &Operation{Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", -6*3600)), Order: Order{Currency: "GTQ"}},
			wantPath: "/p/api-dev/v5/analytics/web/operation",
			want:     schema{"channelId": "number", "timestamp": "string", "order": orderSchema},
			values:   map[string]string{"timestamp": `"2025-01-02T03:04:05.000-06:00"`, "order": `{"amount":0,"currency":"GTQ"}`},
		},
		{
			name: "operation with an empty-details transaction", ev: &Operation{Timestamp: time.Unix(0, 0).UTC(), Transaction: Transaction{Type: "ach"}},
			wantPath: "/api/v5/analytics/web/operation",
			want:     schema{"channelId": "number", "timestamp": "string", "transaction": transactionSchema},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSmartID(t, nil)
			cfg := testConfig(f, nil, nil)
			cfg.Endpoint += tt.endpoint
			cfg.Environment = tt.env
			c := mustNew(t, cfg)
			if err := c.Enqueue(tt.ev); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			r := f.next(t)
			checkRequest(t, r, tt.wantPath)
			checkSchema(t, "body", r.Body, tt.want)
			var top map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &top); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.values {
				if got := string(top[k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
			if err := c.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if s := c.Stats(); s.Sent != 1 || s.Failed != 0 || s.Dropped != 0 {
				t.Errorf("stats = %+v, want exactly one sent", s)
			}
		})
	}
}

// TestOperationMatchesSeedExample decodes a full operation and checks the
// values against the reference's example shape, amount as a number.
func TestOperationValues(t *testing.T) {
	b, err := fullOperation().appendJSON(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Transaction struct{ Details map[string]string }
		Account     struct {
			ClientRefID int `json:"clientRefId"`
			Client      string
		}
		Order struct {
			Amount   json.Number
			Currency string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if got.Order.Amount != "10.5" || got.Order.Currency != "GTQ" {
		t.Errorf("order = %+v", got.Order)
	}
	if got.Account.Client != "1564651jlopez" || got.Account.ClientRefID != 0 {
		t.Errorf("account = %+v", got.Account)
	}
	if len(got.Transaction.Details) != 2 || got.Transaction.Details["key"] != "value" {
		t.Errorf("details = %v", got.Transaction.Details)
	}
}
