package storage

import (
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/orders"
)

// TestAssembleOrdersUnsorted: the rows of an order read come in any order; the orders come out
// newest first with their lines by position, notes by time then number, and as payment the
// newest confirming intent, else the newest intent.
func TestAssembleOrdersUnsorted(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	out := assembleOrders(
		[]orders.Order{{ID: "ord_a"}, {ID: "ord_c"}, {ID: "ord_b"}},
		[]pendingLine{
			{orderID: "ord_a", position: 2, line: orders.Line{Reference: "a2"}},
			{orderID: "ord_c", position: 1, line: orders.Line{Reference: "c1"}},
			{orderID: "ord_a", position: 0, line: orders.Line{Reference: "a0"}},
			{orderID: "ord_gone", position: 0, line: orders.Line{Reference: "x"}},
			{orderID: "ord_a", position: 1, line: orders.Line{Reference: "a1"}},
		},
		[]pendingNote{
			{orderID: "ord_b", note: orders.DeliveryNote{Number: "N2", CreatedAt: t0.Add(time.Hour)}},
			{orderID: "ord_b", note: orders.DeliveryNote{Number: "N9", CreatedAt: t0}},
			{orderID: "ord_b", note: orders.DeliveryNote{Number: "N1", CreatedAt: t0.Add(time.Hour)}},
		},
		[]pendingPayment{
			{orderID: "ord_a", payment: orders.PaymentSummary{IntentID: "pi_1", Status: "failed"}},
			{orderID: "ord_a", payment: orders.PaymentSummary{IntentID: "pi_3", Status: "requires_action"}},
			{orderID: "ord_a", payment: orders.PaymentSummary{IntentID: "pi_2", Status: "succeeded"}},
			{orderID: "ord_b", payment: orders.PaymentSummary{IntentID: "pi_4", Status: "failed"}},
			{orderID: "ord_b", payment: orders.PaymentSummary{IntentID: "pi_6", Status: "canceled"}},
			{orderID: "ord_b", payment: orders.PaymentSummary{IntentID: "pi_5", Status: "failed"}},
			{orderID: "ord_c", payment: orders.PaymentSummary{IntentID: "pi_7", Status: "scheduled"}},
			{orderID: "ord_c", payment: orders.PaymentSummary{IntentID: "pi_8", Status: "succeeded"}},
		},
	)
	var ids []string
	for _, o := range out {
		ids = append(ids, o.ID)
	}
	if got := len(ids); got != 3 || ids[0] != "ord_c" || ids[1] != "ord_b" || ids[2] != "ord_a" {
		t.Fatalf("orders %v, want ord_c ord_b ord_a", ids)
	}
	c, b, a := out[0], out[1], out[2]
	if len(a.Lines) != 3 || a.Lines[0].Reference != "a0" || a.Lines[1].Reference != "a1" || a.Lines[2].Reference != "a2" {
		t.Errorf("ord_a lines %+v", a.Lines)
	}
	if len(c.Lines) != 1 || len(b.Lines) != 0 {
		t.Errorf("lines: ord_c %d, ord_b %d", len(c.Lines), len(b.Lines))
	}
	if len(b.DeliveryNotes) != 3 || b.DeliveryNotes[0].Number != "N9" || b.DeliveryNotes[1].Number != "N1" || b.DeliveryNotes[2].Number != "N2" {
		t.Errorf("ord_b notes %+v", b.DeliveryNotes)
	}
	for _, w := range []struct {
		o    orders.Order
		want string
	}{{a, "pi_2"}, {b, "pi_6"}, {c, "pi_8"}} {
		if w.o.Payment == nil || w.o.Payment.IntentID != w.want {
			t.Errorf("%s payment %+v, want %s", w.o.ID, w.o.Payment, w.want)
		}
	}
}
