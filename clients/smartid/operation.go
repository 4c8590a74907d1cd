package smartid

import (
	"math"
	"time"
)

// TimestampLayout is how Operation.Timestamp is sent: ISO 8601 (RFC 3339)
// with milliseconds, in the time's own zone. Callers filling
// Transaction.Date may use it to stay consistent.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Operation reports a money or account operation (POST .../operation). It
// is tied to a login by ChannelID, Account.Client and Account.Session.
//
// Each nested object is sent only when at least one of its fields is set;
// a sent object carries all of its keys. Enqueue encodes the event before
// it returns, so the caller may reuse Transaction.Details afterwards.
type Operation struct {
	ChannelKind ChannelKind // overrides the client's default when set
	ChannelID   int         // overrides the client's default when set
	// Timestamp is when the operation happened. Required.
	Timestamp time.Time

	Transaction Transaction
	Account     Account
	Order       Order
	AccountTo   AccountTo
	DebitFrom   FundsAccount
	CreditTo    FundsAccount
	CreditCard  CreditCard
}

// Transaction describes the operation ("transaction" object).
type Transaction struct {
	Category    string            // "category", e.g. "add account"
	Type        string            // "type", e.g. "ach"
	Description string            // "description"
	Reference   string            // "reference"
	Date        string            // "date", sent as given
	Details     map[string]string // "details", {} when empty
}

func (t *Transaction) isZero() bool {
	return t.Category == "" && t.Type == "" && t.Description == "" &&
		t.Reference == "" && t.Date == "" && len(t.Details) == 0
}

// Account is the acting customer ("account" object).
type Account struct {
	Client         string // "client": must match the login's user
	ClientRefID    int    // "clientRefId"
	ClientRefIDStr string // "clientRefIdStr"
	Email          string // "email"
	PhoneNumber    string // "phoneNumber"
	Session        string // "session": must match the login's session
	AccountNumber  string // "accountNumber"
	Bank           string // "bank"
}

// Order is the amount moved ("order" object).
type Order struct {
	Amount   float64 // "amount", a JSON number; see ValidAmount
	Currency string  // "currency", e.g. "GTQ"
}

// AmountLimit bounds Order.Amount: an amount is below it, so it has at
// most 15 digits before the point (what an operation mapping's amount of
// at most 15 significant digits can say, and what a float64 keeps to the
// cent). SmartID is not told of absurd sums.
const AmountLimit = 1e15

// ValidAmount reports whether a is an amount the reference's order.amount
// can carry: a sum of money in order.currency (0.00 in its example), so
// a number from 0 to below AmountLimit. NaN, an infinity, a negative
// amount and a negative zero (sent as -0) are refused.
func ValidAmount(a float64) bool {
	return a >= 0 && a < AmountLimit && !math.Signbit(a)
}

// amountRule is how a refused amount is explained (never quoting it).
const amountRule = "must be a sum of money: a number from 0 to below 10^15, not negative"

// AccountTo is the beneficiary ("accountTo" object).
type AccountTo struct {
	Client        string // "client"
	AccountNumber string // "accountNumber"
	Bank          string // "bank"
}

// FundsAccount is the shape of both "debitFrom" and "creditTo".
type FundsAccount struct {
	Account  string // "account"
	Bank     string // "bank"
	Currency string // "currency"
}

// CreditCard identifies a card ("creditCard" object).
type CreditCard struct {
	BIN         string // "bin"
	Hash        string // "hash"
	Last4Digits string // "last4Digits"
	Token       string // "token"
}

func (Operation) Kind() EventKind                { return KindOperation }
func (e *Operation) channel() (ChannelKind, int) { return e.ChannelKind, e.ChannelID }

func (e *Operation) minSize() int {
	t, a := &e.Transaction, &e.Account
	n := len(t.Category) + len(t.Type) + len(t.Description) + len(t.Reference) + len(t.Date)
	for k, v := range t.Details {
		n += len(k) + len(v)
	}
	n += len(a.Client) + len(a.ClientRefIDStr) + len(a.Email) + len(a.PhoneNumber) +
		len(a.Session) + len(a.AccountNumber) + len(a.Bank)
	n += len(e.Order.Currency) + len(e.AccountTo.Client) + len(e.AccountTo.AccountNumber) + len(e.AccountTo.Bank)
	for _, f := range []*FundsAccount{&e.DebitFrom, &e.CreditTo} {
		n += len(f.Account) + len(f.Bank) + len(f.Currency)
	}
	c := &e.CreditCard
	return n + len(c.BIN) + len(c.Hash) + len(c.Last4Digits) + len(c.Token)
}

// operationInitialSize fits a fully populated operation with short values.
const operationInitialSize = 1024

func (e *Operation) appendJSON(b []byte, channelID int) ([]byte, error) {
	if e.Timestamp.IsZero() {
		return nil, required(KindOperation, "timestamp")
	}
	if !ValidAmount(e.Order.Amount) {
		return nil, &FieldError{Event: KindOperation, Field: "order.amount", Reason: amountRule}
	}
	if cap(b)-len(b) < operationInitialSize {
		nb := make([]byte, len(b), len(b)+operationInitialSize)
		copy(nb, b)
		b = nb
	}
	b = append(b, '{')
	b = appendIntField(b, "channelId", channelID)
	b = appendKey(b, "timestamp")
	b = append(b, '"')
	b = e.Timestamp.AppendFormat(b, TimestampLayout)
	b = append(b, '"')

	if t := &e.Transaction; !t.isZero() {
		b = appendKey(b, "transaction")
		b = append(b, '{')
		b = appendStringField(b, "category", t.Category)
		b = appendStringField(b, "type", t.Type)
		b = appendStringField(b, "description", t.Description)
		b = appendStringField(b, "reference", t.Reference)
		b = appendStringField(b, "date", t.Date)
		b = appendKey(b, "details")
		b = appendStringMap(b, t.Details)
		b = append(b, '}')
	}
	if a := &e.Account; *a != (Account{}) {
		b = appendKey(b, "account")
		b = append(b, '{')
		b = appendStringField(b, "client", a.Client)
		b = appendIntField(b, "clientRefId", a.ClientRefID)
		b = appendStringField(b, "clientRefIdStr", a.ClientRefIDStr)
		b = appendStringField(b, "email", a.Email)
		b = appendStringField(b, "phoneNumber", a.PhoneNumber)
		b = appendStringField(b, "session", a.Session)
		b = appendStringField(b, "accountNumber", a.AccountNumber)
		b = appendStringField(b, "bank", a.Bank)
		b = append(b, '}')
	}
	if o := &e.Order; *o != (Order{}) {
		b = appendKey(b, "order")
		b = append(b, '{')
		b = appendKey(b, "amount")
		b = appendFloat(b, o.Amount)
		b = appendStringField(b, "currency", o.Currency)
		b = append(b, '}')
	}
	if a := &e.AccountTo; *a != (AccountTo{}) {
		b = appendKey(b, "accountTo")
		b = append(b, '{')
		b = appendStringField(b, "client", a.Client)
		b = appendStringField(b, "accountNumber", a.AccountNumber)
		b = appendStringField(b, "bank", a.Bank)
		b = append(b, '}')
	}
	b = appendFundsAccount(b, "debitFrom", &e.DebitFrom)
	b = appendFundsAccount(b, "creditTo", &e.CreditTo)
	if c := &e.CreditCard; *c != (CreditCard{}) {
		b = appendKey(b, "creditCard")
		b = append(b, '{')
		b = appendStringField(b, "bin", c.BIN)
		b = appendStringField(b, "hash", c.Hash)
		b = appendStringField(b, "last4Digits", c.Last4Digits)
		b = appendStringField(b, "token", c.Token)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendFundsAccount(b []byte, name string, f *FundsAccount) []byte {
	if *f == (FundsAccount{}) {
		return b
	}
	b = appendKey(b, name)
	b = append(b, '{')
	b = appendStringField(b, "account", f.Account)
	b = appendStringField(b, "bank", f.Bank)
	b = appendStringField(b, "currency", f.Currency)
	return append(b, '}')
}
