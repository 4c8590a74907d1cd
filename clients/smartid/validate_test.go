package smartid

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestEnqueueValidation(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		ev        Event
		defaultID int
		field     string
	}{
		{"login without user", Login{PublicIP: ip, Data: "d"}, 1, "user"},
		{"login without IP", Login{User: "u", Data: "d"}, 1, "publicIp"},
		{"login without any channel id", Login{User: "u", PublicIP: ip}, 0, "channelId"},
		{"login with negative channel id", Login{ChannelID: -3, User: "u", PublicIP: ip}, 1, "channelId"},
		{"login with unknown channel kind", Login{ChannelKind: "tv", User: "u", PublicIP: ip}, 1, "channel kind"},
		{"logout without user", Logout{Session: "s"}, 1, "user"},
		{"logout without session", &Logout{User: "u", PublicIP: ip}, 1, "session"},
		{"operation without timestamp", &Operation{Order: Order{Amount: 1}}, 1, "timestamp"},
		{"operation with NaN amount", &Operation{Timestamp: now, Order: Order{Amount: math.NaN()}}, 1, "order.amount"},
		{"operation with infinite amount", &Operation{Timestamp: now, Order: Order{Amount: math.Inf(-1)}}, 1, "order.amount"},
		// The reference's order.amount is a sum of money (0.00 in its
		// example): none is negative or absurdly large.
		{"operation with negative amount", &Operation{Timestamp: now, Order: Order{Amount: -5, Currency: "GTQ"}}, 1, "order.amount"},
		{"operation with negative zero amount", &Operation{Timestamp: now, Order: Order{Amount: math.Copysign(0, -1), Currency: "GTQ"}}, 1, "order.amount"},
		{"operation with amount at the limit", &Operation{Timestamp: now, Order: Order{Amount: AmountLimit}}, 1, "order.amount"},
		{"operation with huge amount", &Operation{Timestamp: now, Order: Order{Amount: 1e300}}, 1, "order.amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSmartID(t, nil)
			cfg := testConfig(f, nil, nil)
			cfg.ChannelID = tt.defaultID
			c := mustNew(t, cfg)
			err := c.Enqueue(tt.ev)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Event != tt.ev.Kind() {
				t.Fatalf("Enqueue = %v, want a FieldError on %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field", err)
			}
			if err := c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.assertNoMoreRequests(t)
			if s := c.Stats(); s != (Stats{QueueCapacity: DefaultQueueSize}) {
				t.Errorf("stats = %+v, want all zero", s)
			}
		})
	}
}

func TestEnqueueTooLarge(t *testing.T) {
	f := newFakeSmartID(t, nil)
	cfg := testConfig(f, nil, nil)
	cfg.MaxEventBytes = 100
	c := mustNew(t, cfg)
	err := c.Enqueue(Login{User: "u", PublicIP: netip.MustParseAddr("192.0.2.1"), Data: strings.Repeat("A", 100)})
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("Enqueue = %v, want ErrEventTooLarge", err)
	}
	// Refused before encoding: the strings alone exceed the cap.
	if err := c.Enqueue(&Operation{Timestamp: time.Unix(1, 0), Transaction: Transaction{Details: map[string]string{"k": strings.Repeat("v", 200)}}}); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("Enqueue of a large operation = %v, want ErrEventTooLarge", err)
	}
	if err := c.Enqueue(Login{User: "u", PublicIP: netip.MustParseAddr("192.0.2.1")}); err != nil {
		t.Fatalf("small event: %v", err)
	}
	if err := c.Enqueue(nil); err == nil {
		t.Fatal("Enqueue(nil) accepted")
	}
}

func TestEnqueueAfterClose(t *testing.T) {
	f := newFakeSmartID(t, nil)
	c := mustNew(t, testConfig(f, nil, nil))
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Enqueue(Logout{User: "u", Session: "s"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	f.assertNoMoreRequests(t)
}
