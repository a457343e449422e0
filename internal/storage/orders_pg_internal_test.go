package storage

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

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

// TestAssembleOrdersMatchesNaive: for random reads (orders in any order, rows of orders not
// selected, rows in any order or in an index's order), assembleOrders gives what a plain
// map-based assembly gives: the lookups that try the last order found first find the same order
// as a search would.
func TestAssembleOrdersMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for round := range 500 {
		n := rng.IntN(25)
		ids := make([]string, n+3) // the last three are orders not selected
		for i := range ids {
			ids[i] = fmt.Sprintf("ord_%04d", rng.IntN(10000)*10+i%10)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		selected, others := ids[:max(len(ids)-3, 0)], ids[max(len(ids)-3, 0):]
		pick := func() string {
			if len(others) > 0 && rng.IntN(8) == 0 {
				return others[rng.IntN(len(others))]
			}
			if len(selected) == 0 {
				return "ord_none"
			}
			return selected[rng.IntN(len(selected))]
		}
		var lines []pendingLine
		var notes []pendingNote
		var pays []pendingPayment
		for k := range rng.IntN(3 * (n + 1)) {
			lines = append(lines, pendingLine{orderID: pick(), position: int64(k), line: orders.Line{Reference: fmt.Sprint("l", k)}})
		}
		for k := range rng.IntN(2 * (n + 1)) {
			notes = append(notes, pendingNote{orderID: pick(), note: orders.DeliveryNote{Number: fmt.Sprint("n", k),
				CreatedAt: t0.Add(time.Duration(rng.IntN(5)) * time.Hour)}})
		}
		statuses := []string{"failed", "succeeded", "scheduled", "canceled", "processing"}
		for k := range rng.IntN(2 * (n + 1)) {
			pays = append(pays, pendingPayment{orderID: pick(), payment: orders.PaymentSummary{IntentID: fmt.Sprintf("pi_%03d", k),
				Status: statuses[rng.IntN(len(statuses))]}})
		}
		if round%2 == 0 { // as an index returns them: by order id
			slices.SortStableFunc(lines, func(a, b pendingLine) int { return strings.Compare(a.orderID, b.orderID) })
			slices.SortStableFunc(pays, func(a, b pendingPayment) int { return strings.Compare(a.orderID, b.orderID) })
		}
		in := make([]orders.Order, len(selected))
		for i, id := range selected {
			in[i] = orders.Order{ID: id, DeliveryNotes: []orders.DeliveryNote{}}
		}
		want := naiveAssemble(slices.Clone(in), slices.Clone(lines), slices.Clone(notes), slices.Clone(pays))
		got := assembleOrders(in, lines, notes, pays)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d:\n got %+v\nwant %+v", round, got, want)
		}
	}
}

// naiveAssemble is assembleOrders written plainly, with a map from id to order.
func naiveAssemble(out []orders.Order, lines []pendingLine, notes []pendingNote, pays []pendingPayment) []orders.Order {
	slices.SortFunc(out, func(a, b orders.Order) int { return strings.Compare(b.ID, a.ID) })
	idx := map[string]int{}
	for i, o := range out {
		idx[o.ID] = i
	}
	slices.SortStableFunc(lines, func(a, b pendingLine) int { return cmp.Compare(a.position, b.position) })
	for _, l := range lines {
		if i, ok := idx[l.orderID]; ok {
			out[i].Lines = append(out[i].Lines, l.line)
		}
	}
	slices.SortStableFunc(notes, func(a, b pendingNote) int {
		if c := a.note.CreatedAt.Compare(b.note.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.note.Number, b.note.Number)
	})
	for _, n := range notes {
		if i, ok := idx[n.orderID]; ok {
			out[i].DeliveryNotes = append(out[i].DeliveryNotes, n.note)
		}
	}
	confirms := func(p orders.PaymentSummary) bool { return p.Status == "succeeded" || p.Status == "scheduled" }
	for _, p := range pays {
		i, ok := idx[p.orderID]
		if !ok {
			continue
		}
		cur := out[i].Payment
		if cur == nil || (confirms(p.payment) && !confirms(*cur)) || (confirms(p.payment) == confirms(*cur) && p.payment.IntentID > cur.IntentID) {
			pay := p.payment
			out[i].Payment = &pay
		}
	}
	return out
}

// TestRawDecoding: the order read decodes binary rows itself only when the result has the
// expected columns (else pgx scans them), and refuses malformed values instead of misreading them.
func TestRawDecoding(t *testing.T) {
	fds := make([]pgconn.FieldDescription, len(completeColumnOIDs))
	for i, oid := range completeColumnOIDs {
		fds[i] = pgconn.FieldDescription{DataTypeOID: oid, Format: pgtype.BinaryFormatCode}
	}
	if !rawDecodable(fds) {
		t.Fatal("the expected columns in binary are not decodable")
	}
	fds[2].Format = pgtype.TextFormatCode // a text is the same bytes in either format
	if !rawDecodable(fds) {
		t.Error("a text column in text format made the row undecodable")
	}
	fds[8].Format = pgtype.TextFormatCode // an integer in text format is not
	if rawDecodable(fds) {
		t.Error("an int8 in text format was taken as decodable")
	}
	fds[8].Format = pgtype.BinaryFormatCode
	fds[15].DataTypeOID = pgtype.TimestampOID
	if rawDecodable(fds) || rawDecodable(fds[:16]) {
		t.Error("another type, or a column missing, was taken as decodable")
	}

	be := func(n int, v int64) []byte {
		b := make([]byte, n)
		if n == 4 {
			binary.BigEndian.PutUint32(b, uint32(v))
		} else {
			binary.BigEndian.PutUint64(b, uint64(v))
		}
		return b
	}
	row := func() [][]byte {
		v := [][]byte{be(4, 1), []byte("ord_1"), []byte("R"), []byte("Pièce"), nil, nil, nil, nil}
		for i := range 7 {
			v = append(v, be(8, int64(i-3)))
		}
		return append(v, be(8, 1), nil)
	}
	in := interner{seen: map[string]string{}}
	var r completeRow
	if err := in.rawRow(&r, row()); err != nil {
		t.Fatal(err)
	}
	if r.kind != 1 || r.orderID != "ord_1" || r.t[1] != "Pièce" || r.n[0] != -3 || r.n[6] != 3 ||
		!r.at1.Equal(time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC)) || !r.at2.IsZero() {
		t.Errorf("decoded %+v", r)
	}
	// A column a kind of row does not use is NULL: "", 0, the zero time.
	nulls := row()
	for _, i := range []int{2, 3, 9, 14, 15} {
		nulls[i] = nil
	}
	if err := in.rawRow(&r, nulls); err != nil {
		t.Fatal(err)
	}
	if r.t[0] != "" || r.t[1] != "" || r.n[1] != 0 || r.n[6] != 0 || !r.at1.IsZero() || r.n[0] != -3 {
		t.Errorf("NULLs decoded as %+v", r)
	}
	for name, broken := range map[string]func(v [][]byte){
		"short kind":     func(v [][]byte) { v[0] = v[0][:2] },
		"short integer":  func(v [][]byte) { v[9] = v[9][:4] },
		"empty integer":  func(v [][]byte) { v[9] = []byte{} },
		"short time":     func(v [][]byte) { v[15] = v[15][:7] },
		"infinite time":  func(v [][]byte) { v[15] = be(8, math.MaxInt64) },
		"-infinite time": func(v [][]byte) { v[16] = be(8, math.MinInt64) },
	} {
		v := row()
		broken(v)
		if err := in.rawRow(&r, v); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
	if err := in.rawRow(&r, row()[:16]); err == nil {
		t.Error("a row of 16 values decoded without an error")
	}
}

// TestPageReadsKeptByShape: a page's statement is built once per shape and kept; a status outside
// the catalogue is a parameter (one shape for all of them, none of the caller's text in the
// statement); past maxPageShapes a read is built and not kept.
func TestPageReadsKeptByShape(t *testing.T) {
	var c orderReads
	builds := 0
	build := func(shape pageShape) func() orderRead {
		return func() orderRead { builds++; return pageRead(shape) }
	}
	buyer := pageShape{buyer: true, limit: 20}
	first := c.page(buyer, build(buyer))
	if again := c.page(buyer, build(buyer)); builds != 1 || again.q != first.q {
		t.Fatalf("second read of a shape: %d builds, same statement %v", builds, again.q == first.q)
	}
	if first.q != pageRead(buyer).q || first.fallback == nil || first.fallback.q != pageRead(buyer).fallback.q || first.cap == 0 {
		t.Error("kept read differs from a fresh one")
	}
	centre := pageShape{center: true, after: true, limit: 50}
	if r := c.page(centre, build(centre)); builds != 2 || r.q == first.q || !strings.Contains(r.q, "LIMIT 51") || !strings.Contains(r.q, "id < $2") {
		t.Errorf("another shape: %d builds, statement %.200s", builds, r.q)
	}

	param := pageShape{buyer: true, status: pageStatusParam, limit: 20}
	q := pageRead(param).q
	if !strings.Contains(q, "status = $2") || strings.Contains(q, "status <>") {
		t.Errorf("a status outside the catalogue is not a parameter: %.300s", q)
	}
	// Every parameter, in the order Orders.Orders passes its arguments.
	q = pageRead(pageShape{buyer: true, center: true, status: pageStatusParam, after: true, limit: 20}).q
	for _, want := range []string{"buyer_id = $1", "center_id = $2", "status = $3", "id < $4"} {
		if !strings.Contains(q, want) {
			t.Errorf("statement lacks %q: %.400s", want, q)
		}
	}
	if q := pageRead(pageShape{status: orders.StatusConfirmed, limit: 20}).q; !strings.Contains(q, "status = 'confirmed'") || strings.Contains(q, "$1") {
		t.Errorf("a catalogue status is not written in the statement: %.300s", q)
	}

	var full orderReads
	for i := range maxPageShapes {
		full.page(pageShape{limit: i}, func() orderRead { return orderRead{} })
	}
	extra := pageShape{limit: maxPageShapes}
	n := 0
	for range 2 {
		full.page(extra, func() orderRead { n++; return orderRead{} })
	}
	if n != 2 || len(full.reads) != maxPageShapes {
		t.Errorf("past the bound: %d builds of the same shape, %d kept", n, len(full.reads))
	}
	var none *orderReads // an Orders made without NewOrders builds each read
	if r := none.page(buyer, build(buyer)); r.q != first.q {
		t.Error("nil cache built another statement")
	}
}

// TestReadGate: a gate of n lets at most n reads run at once and every read through; a read
// that panics gives its place back; a read whose context ends while it waits is not run and
// gets the context's error; a nil gate runs every read at once.
func TestReadGate(t *testing.T) {
	ctx := context.Background()
	g := make(readGate, 3)
	var running, most, done atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			err := g.through(ctx, func() error {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
				done.Add(1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most.Load() > 3 || done.Load() != 40 {
		t.Errorf("%d reads at once at most (want ≤ 3), %d done of 40", most.Load(), done.Load())
	}

	one := make(readGate, 1)
	func() {
		defer func() { _ = recover() }()
		_ = one.through(ctx, func() error { panic("read failed") })
	}()
	if len(one) != 0 {
		t.Fatal("a read that panicked kept its place")
	}
	hold, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = one.through(ctx, func() error { close(hold); <-release; return nil })
	}()
	<-hold
	waiting, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	ran := false
	if err := one.through(waiting, func() error { ran = true; return nil }); !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Errorf("a read whose context ended while it waited: %v, ran %v", err, ran)
	}
	close(release)
	if err := one.through(ctx, func() error { return errors.New("boom") }); err == nil || err.Error() != "boom" {
		t.Errorf("the read's own error: %v", err)
	}
	if err := one.through(ctx, func() error { return nil }); err != nil || len(one) != 0 {
		t.Errorf("after an error: %v, %d places taken", err, len(one))
	}

	var none readGate
	if err := none.through(ctx, func() error { return nil }); err != nil {
		t.Error(err)
	}
}
