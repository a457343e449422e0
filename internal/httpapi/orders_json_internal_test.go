package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/orders"
)

// TestOrderListJSONMatchesMarshal: the order lists' hand-written JSON, written from the domain's
// orders, is byte for byte what json.Marshal writes for the OrderList toOrder makes of them, for
// strings that need escaping (HTML characters, quotes, control characters, U+2028, invalid
// UTF-8), nil and empty slices, absent payment and reference, times in other zones and with
// nanoseconds, and the cursor present or not.
func TestOrderListJSONMatchesMarshal(t *testing.T) {
	texts := []string{"", "ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b", "Pièce <b>&</b>", `quote " and \ back`,
		"tab\tnew\nline\r\x00\x1f\x7f", "sep \u2028 \u2029", "bad \xff\xfe utf8", "émoji 🚗", "BL-2026-00042"}
	rng := rand.New(rand.NewPCG(1, 2))
	text := func() string { return texts[rng.IntN(len(texts))] }
	paris := time.FixedZone("CET", 3600)
	when := func() time.Time {
		t := time.Date(2026, 12, 2, 21, 0, 0, rng.IntN(1e9), time.UTC).Add(time.Duration(rng.IntN(1e6)) * time.Second)
		if rng.IntN(3) == 0 {
			t = t.In(paris)
		}
		if rng.IntN(3) == 0 {
			t = t.Truncate(time.Second)
		}
		return t
	}
	for round := range 300 {
		var items []orders.Order
		if round%7 != 0 {
			items = make([]orders.Order, rng.IntN(4))
		}
		var m listMeta
		m.HasMore = rng.IntN(2) == 0
		if m.HasMore {
			m.NextCursor = text()
		}
		for i := range items {
			o := orders.Order{ID: text(), BuyerID: text(), CenterID: text(), Status: orders.Status(text()), DeliveryMode: orders.DeliveryMode(text()),
				ExternalReference: text(), TotalExclVAT: rng.Int64N(1e9) - 5e8, TotalVAT: rng.Int64N(1e6), Total: rng.Int64N(1e9),
				AmountRefunded: rng.Int64N(10), Currency: text(), CreatedAt: when(), UpdatedAt: when()}
			if rng.IntN(4) != 0 {
				o.Lines = make([]orders.Line, rng.IntN(3))
				for j := range o.Lines {
					o.Lines[j] = orders.Line{Reference: text(), Label: text(), Quantity: rng.IntN(100), UnitPriceExclVAT: rng.Int64N(1e7),
						VATRate: rng.IntN(2001), TotalExclVAT: rng.Int64N(1e7), TotalVAT: rng.Int64N(1e6), Total: -rng.Int64N(1e7)}
				}
			}
			if rng.IntN(2) == 0 {
				o.Payment = &orders.PaymentSummary{IntentID: text(), Method: text(), Status: text()}
			}
			if rng.IntN(4) != 0 {
				o.DeliveryNotes = make([]orders.DeliveryNote, rng.IntN(3))
				for j := range o.DeliveryNotes {
					o.DeliveryNotes[j] = orders.DeliveryNote{Kind: orders.DeliveryNoteKind(text()), Number: text(), CreatedAt: when()}
				}
			}
			items[i] = o
		}
		l := OrderList{Data: make([]Order, len(items)), listMeta: m}
		for i, o := range items {
			l.Data[i] = toOrder(o)
		}
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendOrderList(nil, items, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d:\n got %s\nwant %s", round, got, want)
		}
	}
	// A field added to these types must be written by appendOrderList too (and filled above).
	for _, c := range []struct {
		v    any
		want int
	}{{OrderList{}, 2}, {listMeta{}, 2}, {Order{}, 16}, {OrderLine{}, 8}, {OrderPayment{}, 3}, {DeliveryNote{}, 3},
		{orders.Order{}, 16}, {orders.Line{}, 8}, {orders.PaymentSummary{}, 3}, {orders.DeliveryNote{}, 3}} {
		if n := reflect.TypeOf(c.v).NumField(); n != c.want {
			t.Errorf("%T has %d fields, appendOrderList writes %d: update orders_json.go and this test", c.v, n, c.want)
		}
	}
	// A time json cannot write fails as json.Marshal does.
	bad := []orders.Order{{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if _, err := json.Marshal(OrderList{Data: []Order{toOrder(bad[0])}}); err == nil {
		t.Fatal("json.Marshal wrote the year 10000")
	}
	if _, err := appendOrderList(nil, bad, listMeta{}); err == nil {
		t.Error("appendOrderList wrote the year 10000")
	}
}

// TestAppendJSONStringMatchesMarshal: a string is written byte for byte as json.Marshal writes
// it, for French accents, emoji, every ASCII byte, U+2028/U+2029, invalid and truncated UTF-8,
// UTF-8-encoded surrogates and random bytes.
func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	cases := []string{"", "Pièce", "Rétroviseur gauche — état neuf", "émoji 🚗", "\u2028", "a\u2029b", "\xff", "é\xc3",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\u00a0\u00ad\ufeff", "a\x7fb", "中文"}
	for c := range 128 {
		cases = append(cases, "x"+string(rune(c))+"é")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "é", "\xc3", "\xa9", "🚗", "\u2028", "<", "\"", "\\", "\x00", "\x7f", "\xff", "\xe2\x80"}
	for range 2000 {
		var b []byte
		for range rng.IntN(8) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("%q: got %s, want %s", s, got[1:], want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"Pièce", "\u2028", "\xff", "<&>", "🚗"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
