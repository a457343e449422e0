package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// incompressible returns n distinct four-byte characters (U+10000 upwards, stepped so that no
// run repeats): the widest text of n characters, which no compression shrinks much.
func incompressible(n, from int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x10000 + from + i*7919%60000))
	}
	return b.String()
}

// TestOrderLineAtLimits stores an order at the catalogue's text limits, in four-byte characters,
// and reads it back one by one and in the buyer's list. On PostgreSQL the lines' primary key and
// the buyer's orders index carry these texts (migration 00850, for index-only reads), and a
// B-tree entry must stay under 2,704 bytes.
func TestOrderLineAtLimits(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		ctx := context.Background()
		base := newOrder(t, db)
		ref, label := incompressible(orders.MaxReferenceLength, 0), incompressible(orders.MaxLabelLength, 100)
		ext := incompressible(orders.MaxExternalReferenceLength, 200)
		o, err := orders.NewOrder(orders.NewOrderInput{BuyerID: base.BuyerID, CenterID: base.CenterID, DeliveryMode: orders.DeliveryModeDelivery,
			ExternalReference: ext,
			Lines: []orders.LineInput{
				{Reference: ref, Label: label, Quantity: 1, UnitPriceExclVAT: 10000},
				{Reference: label[:4*orders.MaxReferenceLength], Label: ref + label[4*orders.MaxReferenceLength:], Quantity: 2, UnitPriceExclVAT: 1},
			}}, id.New(id.Order), t0)
		if err != nil {
			t.Fatal(err)
		}
		store := storage.NewOrders(db)
		if err := store.CreateOrder(ctx, o); err != nil {
			t.Fatalf("an order at the text limits: %v", err)
		}
		got, err := store.Order(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		check := func(got orders.Order) {
			t.Helper()
			if got.ExternalReference != ext || len(got.Lines) != 2 || got.Lines[0].Reference != ref || got.Lines[0].Label != label ||
				got.Lines[1].Reference != o.Lines[1].Reference || got.Lines[1].Label != o.Lines[1].Label {
				t.Fatalf("the order read back differs from the one stored")
			}
		}
		check(got)
		pg, err := store.Orders(ctx, orders.Filter{BuyerID: o.BuyerID}, page.Request{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Items) != 2 || pg.Items[0].ID != o.ID {
			t.Fatalf("buyer's list: %d orders, first %q, want 2 with %q first", len(pg.Items), pg.Items[0].ID, o.ID)
		}
		check(pg.Items[0])
	})
}

// TestOrderReadRawMatchesScan: on PostgreSQL a read outside a transaction decodes the rows'
// binary values itself (orders_pg.go, rawRow); it gives the same order as database/sql's scan
// and as pgx's scan (its fallback),
// for texts at the limits in four-byte characters, an external reference, times with
// microseconds, two lines, a delivery note and two intents.
func TestOrderReadRawMatchesScan(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		if b != storagetest.Postgres {
			t.Skip("the binary decoding is PostgreSQL's")
		}
		db := storagetest.Open(t, b)
		ctx := context.Background()
		base := newOrder(t, db)
		at := t0.Add(123456 * time.Microsecond)
		reduced := 550
		o, err := orders.NewOrder(orders.NewOrderInput{BuyerID: base.BuyerID, CenterID: base.CenterID, DeliveryMode: orders.DeliveryModeDelivery,
			ExternalReference: "CMD-" + incompressible(20, 300),
			Lines: []orders.LineInput{
				{Reference: incompressible(orders.MaxReferenceLength, 0), Label: incompressible(orders.MaxLabelLength, 100), Quantity: 3, UnitPriceExclVAT: 12345, VATRate: &reduced},
				{Reference: "R2", Label: "Pièce", Quantity: 1000, UnitPriceExclVAT: 100000000},
			}}, id.New(id.Order), at)
		if err != nil {
			t.Fatal(err)
		}
		if err := storage.NewOrders(db).CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		pays := storage.NewPayments(db)
		for _, st := range []payments.Status{payments.StatusFailed, payments.StatusSucceeded} {
			pi := intentFor(o, st)
			pi.CreatedAt, pi.UpdatedAt = at, at
			if err := pays.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, pi) }); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO delivery_notes (order_id, center_id, buyer_id, kind, number, created_at) VALUES ($1, $2, $3, 'BL', 'BL-2026-00042', $4)`,
			o.ID, o.CenterID, o.BuyerID, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		reads, err := storage.ReadOrderThreeWays(ctx, db, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reads.RawUsed {
			t.Error("the read outside a transaction fell back to pgx's Scan: the columns' types or formats changed")
		}
		viaPgx, viaSQL := reads.Raw, reads.SQL
		if !reflect.DeepEqual(viaPgx, viaSQL) {
			t.Fatalf("raw decoding differs from database/sql's scan:\n raw %+v\n sql %+v", viaPgx, viaSQL)
		}
		if !reflect.DeepEqual(reads.PgxScan, viaSQL) {
			t.Fatalf("pgx's scan (the fallback) differs from database/sql's scan:\n pgx %+v\n sql %+v", reads.PgxScan, viaSQL)
		}
		if len(viaPgx.Lines) != 2 || viaPgx.Lines[0].Label != o.Lines[0].Label || viaPgx.Lines[1].Total != o.Lines[1].Total ||
			viaPgx.ExternalReference != o.ExternalReference || !viaPgx.CreatedAt.Equal(at) ||
			len(viaPgx.DeliveryNotes) != 1 || !viaPgx.DeliveryNotes[0].CreatedAt.Equal(at.Add(time.Hour)) ||
			viaPgx.Payment == nil || viaPgx.Payment.Status != string(payments.StatusSucceeded) {
			t.Fatalf("the order read back differs from the one stored: %+v", viaPgx)
		}
	})
}

// TestOrderPagesMatchOrderReads: pages of orders give every order exactly as reading it alone
// does (by its id), and the orders the filter selects only. On PostgreSQL a page reads its lines,
// notes and intents in one of three ways (storage/orders_pg.go): one range scan each between the
// page's lowest and highest order id, of the order-id indexes for an admin's page or of the
// party's part of migration 00860's indexes for a buyer's or a centre's (a centre's intents one
// order at a time); a descent per order into the buyer's part under a status filter; a descent
// per order into the order-id indexes otherwise. The data has two buyers of two centres whose orders, lines, notes and intents
// are interleaved in id order, cancelled orders inside a page's range, orders with no intent or
// note, one and several intents, notes and lines; pages of every size are walked by their
// cursors.
func TestOrderPagesMatchOrderReads(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		ctx := context.Background()
		store, pays, notes := storage.NewOrders(db), storage.NewPayments(db), storage.NewInvoicing(db)
		first, second := newOrder(t, db), newOrderN(t, db, 1)
		buyers := []orders.Order{first, second}
		status := map[string]orders.Status{first.ID: orders.StatusPaymentPending, second.ID: orders.StatusPaymentPending}
		all := []orders.Order{first, second}                             // in id order
		counts := map[string][2]int{first.ID: {1, 1}, second.ID: {1, 1}} // lines, notes
		// Each buyer's oldest order, the lowest of its last page's range, has a note.
		for _, o := range buyers {
			if err := notes.AttachDeliveryNote(ctx, o.ID, o.CenterID, invoicing.DeliveryNote{Kind: invoicing.NoteBR, Number: "N-" + o.ID, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 16 {
			owner := buyers[i%2]
			var lines []orders.LineInput
			for k := range 1 + i%3 {
				lines = append(lines, orders.LineInput{Reference: fmt.Sprintf("R%d-%d", i, k), Label: "Pièce", Quantity: 1 + k, UnitPriceExclVAT: int64(100 * (i + 1))})
			}
			o, err := orders.NewOrder(orders.NewOrderInput{BuyerID: owner.BuyerID, CenterID: owner.CenterID, DeliveryMode: orders.DeliveryModeDelivery,
				Lines: lines}, id.New(id.Order), t0.Add(time.Duration(i)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.CreateOrder(ctx, o); err != nil {
				t.Fatal(err)
			}
			var sts []payments.Status
			switch i % 4 {
			case 1:
				sts = []payments.Status{payments.StatusFailed}
			case 2:
				sts = []payments.Status{payments.StatusFailed, payments.StatusSucceeded}
			case 3:
				sts = []payments.Status{payments.StatusSucceeded, payments.StatusFailed, payments.StatusCanceled}
			}
			for _, st := range sts {
				if err := pays.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, intentFor(o, st)) }); err != nil {
					t.Fatal(err)
				}
			}
			for k := range i % 3 {
				n := invoicing.DeliveryNote{Kind: []invoicing.NoteKind{invoicing.NoteBL, invoicing.NoteBR}[k], Number: fmt.Sprintf("N-%d-%d", i, k),
					CreatedAt: t0.Add(time.Duration(i)*time.Minute + time.Duration(k)*time.Second)}
				if err := notes.AttachDeliveryNote(ctx, o.ID, o.CenterID, n); err != nil {
					t.Fatal(err)
				}
			}
			counts[o.ID] = [2]int{len(lines), i % 3}
			status[o.ID] = orders.StatusPaymentPending
			if i%5 == 2 {
				if err := store.CancelOrder(ctx, o.ID, t0.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				status[o.ID] = orders.StatusCancelled
			}
			all = append(all, o)
		}
		for _, f := range []orders.Filter{
			{BuyerID: first.BuyerID},
			{BuyerID: second.BuyerID},
			{BuyerID: first.BuyerID, Status: orders.StatusPaymentPending},
			{BuyerID: first.BuyerID, Status: orders.StatusCancelled},
			{},
			{Status: orders.StatusPaymentPending},
			{CenterID: second.CenterID},
			{BuyerID: second.BuyerID, CenterID: second.CenterID},
			{BuyerID: first.BuyerID, Status: "bogus"}, // outside the catalogue: a parameter, no order
		} {
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				o := all[i]
				if st := status[o.ID]; ((f.Status == "" && st != orders.StatusCancelled) || st == f.Status) &&
					(f.BuyerID == "" || o.BuyerID == f.BuyerID) && (f.CenterID == "" || o.CenterID == f.CenterID) {
					want = append(want, o.ID)
				}
			}
			for _, limit := range []int{1, 2, 3, 5, 50} {
				got := walkPages(t, store, f, limit, func(o orders.Order) {
					if c := counts[o.ID]; len(o.Lines) != c[0] || len(o.DeliveryNotes) != c[1] {
						t.Fatalf("filter %+v, pages of %d: order %s has %d lines and %d notes, want %d and %d",
							f, limit, o.ID, len(o.Lines), len(o.DeliveryNotes), c[0], c[1])
					}
				})
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("filter %+v, pages of %d: orders %v, want %v", f, limit, got, want)
				}
			}
		}
	})
}

// TestOrderPagesStatusOutsideCatalogue: a status outside the catalogue goes to the statement as
// a parameter (its text, even SQL, is never part of it): with every filter and a cursor (four
// parameters) the page answers empty, without an error, for two such statuses in turn (the kept
// statement of the first serves the second), and the table is still there. The parameters' order
// is checked on the statement's text by TestPageReadsKeptByShape.
func TestOrderPagesStatusOutsideCatalogue(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		store := storage.NewOrders(db)
		o := newOrder(t, db)
		for _, st := range []orders.Status{"bogus", "'; DROP TABLE orders; --"} {
			got, err := store.Orders(context.Background(), orders.Filter{BuyerID: o.BuyerID, CenterID: o.CenterID, Status: st},
				page.Request{Limit: 20, After: "ord_zzzz"})
			if err != nil || len(got.Items) != 0 || got.HasMore {
				t.Fatalf("status %q: %+v, %v", st, got, err)
			}
		}
		if got, err := store.Order(context.Background(), o.ID); err != nil || got.ID != o.ID {
			t.Fatalf("order after: %+v, %v", got, err)
		}
	})
}

// TestOrderPagesThroughNarrowGate: with one read of orders at a time (WithReadConcurrency(1)),
// 16 goroutines reading pages, single orders and admin pages at once all get their orders (the
// gate lets each through in turn, gives its place back after an error, and never holds a
// connection another read waits for); a read whose context ends while it waits fails with the
// context's error, and the next read goes through.
func TestOrderPagesThroughNarrowGate(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db, err := storage.Open(context.Background(), storagetest.URL(t, b), storage.WithReadConcurrency(1), storage.WithMaxConns(2))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		store := storage.NewOrders(db)
		if n := storage.ReadGatePlaces(store); n != 1 {
			t.Fatalf("the store's gate has %d places, want 1 (WithReadConcurrency)", n)
		}
		if n := storage.ReadGatePlaces(storage.NewOrders(storagetest.Open(t, b))); n != storage.DefaultReadConcurrency {
			t.Fatalf("by default the gate has %d places, want %d", n, storage.DefaultReadConcurrency)
		}
		o := newOrder(t, db)
		var wg sync.WaitGroup
		errs := make(chan error, 2*16*20) // at most two a round
		for w := range 16 {
			wg.Go(func() {
				for i := range 20 {
					ctx := context.Background()
					switch (w + i) % 3 {
					case 0:
						got, err := store.Orders(ctx, orders.Filter{BuyerID: o.BuyerID}, page.Request{Limit: 20})
						if err == nil && (len(got.Items) != 1 || got.Items[0].ID != o.ID) {
							err = fmt.Errorf("buyer's page %+v", got)
						}
						errs <- err
					case 1:
						got, err := store.Order(ctx, o.ID)
						if err == nil && len(got.Lines) != len(o.Lines) {
							err = fmt.Errorf("order %+v", got)
						}
						errs <- err
					default:
						cancelled, cancel := context.WithCancel(ctx)
						cancel()
						if _, err := store.Orders(cancelled, orders.Filter{}, page.Request{Limit: 5}); err == nil {
							errs <- errors.New("a read with an ended context succeeded")
						}
						_, err := store.Orders(ctx, orders.Filter{}, page.Request{Limit: 5})
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestOrderPagesPastManyCancelled: a page whose id range holds more cancelled orders than the
// range read's cap (rangeBranches: 100 rows per order of the page, 200 for a page of one and its
// lookahead) is read again one order at a time, and comes out complete: a buyer's page, a
// centre's and an admin's, around 201 cancelled orders of the same buyer and centre, each with a
// line, a note and an intent.
func TestOrderPagesPastManyCancelled(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		ctx := context.Background()
		store, pays, notes := storage.NewOrders(db), storage.NewPayments(db), storage.NewInvoicing(db)
		oldest := newOrder(t, db)
		create := func(i int) orders.Order {
			t.Helper()
			o, err := orders.NewOrder(orders.NewOrderInput{BuyerID: oldest.BuyerID, CenterID: oldest.CenterID, DeliveryMode: orders.DeliveryModeDelivery,
				Lines: []orders.LineInput{{Reference: fmt.Sprintf("R%d", i), Label: "Pièce", Quantity: 1, UnitPriceExclVAT: 100}}}, id.New(id.Order), t0)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.CreateOrder(ctx, o); err != nil {
				t.Fatal(err)
			}
			if err := pays.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, intentFor(o, payments.StatusFailed)) }); err != nil {
				t.Fatal(err)
			}
			n := invoicing.DeliveryNote{Kind: invoicing.NoteBL, Number: fmt.Sprintf("BL-%d", i), CreatedAt: t0}
			if err := notes.AttachDeliveryNote(ctx, o.ID, o.CenterID, n); err != nil {
				t.Fatal(err)
			}
			return o
		}
		for i := range 201 {
			if err := store.CancelOrder(ctx, create(i).ID, t0); err != nil {
				t.Fatal(err)
			}
		}
		newest := create(201)
		for _, f := range []orders.Filter{{BuyerID: oldest.BuyerID}, {CenterID: oldest.CenterID}, {}} {
			got := walkPages(t, store, f, 1, func(o orders.Order) {
				if len(o.Lines) != 1 || (o.ID == newest.ID && (o.Payment == nil || len(o.DeliveryNotes) != 1)) {
					t.Fatalf("filter %+v: order %s lacks its line, its payment or its note: %+v", f, o.ID, o)
				}
			})
			if want := []string{newest.ID, oldest.ID}; !reflect.DeepEqual(got, want) {
				t.Fatalf("filter %+v: orders %v, want %v", f, got, want)
			}
		}
	})
}

// walkPages reads every page of f's orders, limit at a time, by their cursors, and returns their
// ids in order. Each order of a page must equal the same order read alone (by its id), and
// passes check.
func walkPages(t *testing.T, store storage.Orders, f orders.Filter, limit int, check func(orders.Order)) []string {
	t.Helper()
	ctx := context.Background()
	var got []string
	req := page.Request{Limit: limit}
	for {
		pg, err := store.Orders(ctx, f, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range pg.Items {
			alone, err := store.Order(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o, alone) {
				t.Fatalf("filter %+v, pages of %d: order %s in the page differs from the order read alone:\n page  %+v\n alone %+v",
					f, limit, o.ID, o, alone)
			}
			check(o)
			got = append(got, o.ID)
		}
		if !pg.HasMore {
			return got
		}
		req.After = pg.Items[len(pg.Items)-1].ID
	}
}
