package storage_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/id"
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
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO delivery_notes (order_id, center_id, kind, number, created_at) VALUES ($1, $2, 'BL', 'BL-2026-00042', $3)`,
			o.ID, o.CenterID, at.Add(time.Hour)); err != nil {
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
