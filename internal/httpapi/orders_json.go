package httpapi

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/orders"
)

// The order lists' answer is written by hand, straight from the domain's orders: encoding/json's
// reflection was about a fifth of the process's CPU on an order page, and copying each order
// into the API's types first (toOrder: the slices of lines and notes, the reference and the
// payment each allocated again) a few percent more. appendOrderList writes exactly what
// json.Marshal writes for the OrderList of the same orders (TestOrderListJSONMatchesMarshal); a
// string that needs escaping, and a time json cannot write, go through encoding/json itself.

// appendOrderList appends the OrderList of items and m as json.Marshal encodes it (each order as
// toOrder makes it). It fails only where json.Marshal fails (a time outside the years 0–9999).
func appendOrderList(b []byte, items []orders.Order, m listMeta) ([]byte, error) {
	var err error
	b = append(b, `{"data":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendOrder(b, &items[i]); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"has_more":`...)
	b = strconv.AppendBool(b, m.HasMore)
	if m.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendJSONString(b, m.NextCursor)
	}
	return append(b, '}'), nil
}

// appendOrder appends toOrder(*o) as json.Marshal encodes it: an empty reference is null, the
// lines and the delivery notes are a list even when there are none, no payment is null.
func appendOrder(b []byte, o *orders.Order) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONString(b, o.ID)
	b = append(b, `,"buyer_id":`...)
	b = appendJSONString(b, o.BuyerID)
	b = append(b, `,"center_id":`...)
	b = appendJSONString(b, o.CenterID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(o.Status))
	b = append(b, `,"delivery_mode":`...)
	b = appendJSONString(b, string(o.DeliveryMode))
	b = append(b, `,"external_reference":`...)
	if o.ExternalReference == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, o.ExternalReference)
	}
	b = append(b, `,"lines":[`...)
	for i := range o.Lines {
		l := &o.Lines[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"reference":`...)
		b = appendJSONString(b, l.Reference)
		b = append(b, `,"label":`...)
		b = appendJSONString(b, l.Label)
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, int64(l.Quantity), 10)
		b = append(b, `,"unit_price_excl_vat":`...)
		b = strconv.AppendInt(b, l.UnitPriceExclVAT, 10)
		b = append(b, `,"vat_rate":`...)
		b = strconv.AppendInt(b, int64(l.VATRate), 10)
		b = append(b, `,"total_excl_vat":`...)
		b = strconv.AppendInt(b, l.TotalExclVAT, 10)
		b = append(b, `,"total_vat":`...)
		b = strconv.AppendInt(b, l.TotalVAT, 10)
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, l.Total, 10)
		b = append(b, '}')
	}
	b = append(b, `],"total_excl_vat":`...)
	b = strconv.AppendInt(b, o.TotalExclVAT, 10)
	b = append(b, `,"total_vat":`...)
	b = strconv.AppendInt(b, o.TotalVAT, 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, o.Total, 10)
	b = append(b, `,"amount_refunded":`...)
	b = strconv.AppendInt(b, o.AmountRefunded, 10)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, o.Currency)
	b = append(b, `,"payment":`...)
	if p := o.Payment; p == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"intent_id":`...)
		b = appendJSONString(b, p.IntentID)
		b = append(b, `,"method":`...)
		b = appendJSONString(b, p.Method)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, p.Status)
		b = append(b, '}')
	}
	b = append(b, `,"delivery_notes":[`...)
	for i := range o.DeliveryNotes {
		n := &o.DeliveryNotes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = appendJSONString(b, string(n.Kind))
		b = append(b, `,"number":`...)
		b = appendJSONString(b, n.Number)
		b = append(b, `,"created_at":`...)
		if b, err = appendJSONTime(b, n.CreatedAt); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	b = append(b, `],"created_at":`...)
	if b, err = appendJSONTime(b, o.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, o.UpdatedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string the way json.Marshal does: printable ASCII other
// than ", \, <, > and &, and valid UTF-8 beyond ASCII other than U+2028 and U+2029, as it is
// (French labels: "Pièce", "Rétroviseur"); any other string through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf { // ASCII json.Marshal escapes
			return appendJSONStringMarshal(b, s)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return appendJSONStringMarshal(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonPlain is true for the ASCII bytes json.Marshal writes as they are: printable, other than
// ", \, <, > and & (a table: one load a byte, where the comparisons were a tenth of writing a
// page of orders).
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONStringMarshal appends s as encoding/json writes it (escaped).
func appendJSONStringMarshal(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds, quoted;
// the same error for a year outside 0–9999), without MarshalJSON's allocation.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
