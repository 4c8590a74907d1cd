package smartid

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FieldKind is the JSON type the operation schema gives a field.
type FieldKind uint8

// Field kinds of the operation schema.
const (
	FieldString FieldKind = iota
	FieldInt
	FieldNumber
)

// DetailsPrefix is the dotted prefix of an operation's free-form details:
// "transaction.details.<key>" sets Transaction.Details[key].
const DetailsPrefix = "transaction.details."

// operationSchema lists every field of the seed's operation schema by its
// dotted path, so a mapping that names another is refused instead of a
// field silently going missing.
var operationSchema = map[string]FieldKind{
	"timestamp":               FieldString,
	"transaction.category":    FieldString,
	"transaction.type":        FieldString,
	"transaction.description": FieldString,
	"transaction.reference":   FieldString,
	"transaction.date":        FieldString,
	"account.client":          FieldString,
	"account.clientRefId":     FieldInt,
	"account.clientRefIdStr":  FieldString,
	"account.email":           FieldString,
	"account.phoneNumber":     FieldString,
	"account.session":         FieldString,
	"account.accountNumber":   FieldString,
	"account.bank":            FieldString,
	"order.amount":            FieldNumber,
	"order.currency":          FieldString,
	"accountTo.client":        FieldString,
	"accountTo.accountNumber": FieldString,
	"accountTo.bank":          FieldString,
	"debitFrom.account":       FieldString,
	"debitFrom.bank":          FieldString,
	"debitFrom.currency":      FieldString,
	"creditTo.account":        FieldString,
	"creditTo.bank":           FieldString,
	"creditTo.currency":       FieldString,
	"creditCard.bin":          FieldString,
	"creditCard.hash":         FieldString,
	"creditCard.last4Digits":  FieldString,
	"creditCard.token":        FieldString,
}

// OperationField reports the kind of the field at a dotted path of the
// operation schema, and whether the schema has it (any
// transaction.details.<key> is a string).
func OperationField(path string) (FieldKind, bool) {
	if k, ok := operationSchema[path]; ok {
		return k, true
	}
	if strings.HasPrefix(path, DetailsPrefix) && len(path) > len(DetailsPrefix) {
		return FieldString, true
	}
	return 0, false
}

// OperationOf builds an operation from values at dotted paths of the
// operation schema (see SetField).
func OperationOf(vals map[string]string) (*Operation, error) {
	op := &Operation{Transaction: Transaction{Details: map[string]string{}}}
	for path, v := range vals {
		if err := op.SetField(path, v); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// SetField stores one value at a dotted path of the operation schema.
// Details must be non-nil for transaction.details.<key>. Errors name the
// field, never the value (request data stays out of logs).
func (op *Operation) SetField(path, v string) error {
	if key, ok := strings.CutPrefix(path, DetailsPrefix); ok && key != "" {
		op.Transaction.Details[key] = v
		return nil
	}
	var err error
	switch path {
	case "timestamp":
		op.Timestamp, err = time.Parse(time.RFC3339, v)
		if err != nil {
			return errors.New("operation field timestamp is not ISO 8601 (RFC 3339)")
		}
	case "order.amount":
		op.Order.Amount, err = strconv.ParseFloat(v, 64)
		if err == nil && !ValidAmount(op.Order.Amount) {
			return errors.New("operation field order.amount " + amountRule)
		}
	case "account.clientRefId":
		op.Account.ClientRefID, err = strconv.Atoi(v)
	default:
		if dst := op.stringField(path); dst != nil {
			*dst = v
		} else {
			err = fmt.Errorf("unknown operation field %q", path)
		}
	}
	if ne := (*strconv.NumError)(nil); errors.As(err, &ne) {
		// strconv quotes the value: keep request data out of the log.
		return fmt.Errorf("operation field %s is not a number", path)
	}
	return err
}

func (op *Operation) stringField(path string) *string {
	switch path {
	case "transaction.category":
		return &op.Transaction.Category
	case "transaction.type":
		return &op.Transaction.Type
	case "transaction.description":
		return &op.Transaction.Description
	case "transaction.reference":
		return &op.Transaction.Reference
	case "transaction.date":
		return &op.Transaction.Date
	case "account.client":
		return &op.Account.Client
	case "account.clientRefIdStr":
		return &op.Account.ClientRefIDStr
	case "account.email":
		return &op.Account.Email
	case "account.phoneNumber":
		return &op.Account.PhoneNumber
	case "account.session":
		return &op.Account.Session
	case "account.accountNumber":
		return &op.Account.AccountNumber
	case "account.bank":
		return &op.Account.Bank
	case "order.currency":
		return &op.Order.Currency
	case "accountTo.client":
		return &op.AccountTo.Client
	case "accountTo.accountNumber":
		return &op.AccountTo.AccountNumber
	case "accountTo.bank":
		return &op.AccountTo.Bank
	case "debitFrom.account":
		return &op.DebitFrom.Account
	case "debitFrom.bank":
		return &op.DebitFrom.Bank
	case "debitFrom.currency":
		return &op.DebitFrom.Currency
	case "creditTo.account":
		return &op.CreditTo.Account
	case "creditTo.bank":
		return &op.CreditTo.Bank
	case "creditTo.currency":
		return &op.CreditTo.Currency
	case "creditCard.bin":
		return &op.CreditCard.BIN
	case "creditCard.hash":
		return &op.CreditCard.Hash
	case "creditCard.last4Digits":
		return &op.CreditCard.Last4Digits
	case "creditCard.token":
		return &op.CreditCard.Token
	}
	return nil
}
