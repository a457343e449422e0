package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func scheduledFor(o orders.Order) payments.Intent {
	return payments.Intent{ID: id.New(id.PaymentIntent), OrderID: o.ID, BuyerID: o.BuyerID, Amount: o.Total, Currency: "EUR",
		Method: payments.MethodSEPADebit, Status: payments.StatusScheduled, MandateID: "mdt_1", CollectionMonth: "2026-12",
		CreatedAt: t0, UpdatedAt: t0}
}

// OrderToPay reads the order with whether it has open intents; ConfirmUnchanged confirms and
// inserts in one step only while the order is unchanged since that read (PostgreSQL), and never
// on SQLite, which keeps no versions.
func TestOrderToPayAndConfirmUnchanged(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewPayments(db)
		confirmUnchanged := func(pi payments.Intent, version string) (bool, error) {
			var done bool
			err := store.InTx(ctx, func(tx payments.Tx) error {
				var err error
				done, err = tx.ConfirmUnchanged(ctx, pi, version)
				return err
			})
			return done, err
		}
		stored := func(o orders.Order) (orders.Status, int) {
			t.Helper()
			got, err := store.OrderToPay(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			p, err := store.Intents(ctx, payments.IntentFilter{OrderID: o.ID}, page.Request{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return got.Status, len(p.Items)
		}

		if _, err := store.OrderToPay(ctx, "ord_missing"); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("unknown order: err = %v, want orders.ErrNotFound", err)
		}

		o := newOrderN(t, db, 0)
		read, err := store.OrderToPay(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if read.ID != o.ID || read.BuyerID != o.BuyerID || read.Total != o.Total || read.Status != orders.StatusPaymentPending ||
			!read.CreatedAt.Equal(o.CreatedAt) || read.HasOpenIntents {
			t.Errorf("OrderToPay = %+v", read)
		}
		if (read.Version != "") != (b == storagetest.Postgres) {
			t.Errorf("version %q on %s", read.Version, b)
		}

		if b == storagetest.SQLite {
			if done, err := confirmUnchanged(scheduledFor(o), "1"); done || err != nil {
				t.Errorf("SQLite ConfirmUnchanged = %v, %v; want false, nil", done, err)
			}
			if st, n := stored(o); st != orders.StatusPaymentPending || n != 0 {
				t.Errorf("SQLite wrote: %s, %d intents", st, n)
			}
			return
		}

		// Unchanged: confirmed and inserted in one statement.
		pi := scheduledFor(o)
		if done, err := confirmUnchanged(pi, read.Version); !done || err != nil {
			t.Fatalf("ConfirmUnchanged = %v, %v", done, err)
		}
		if st, n := stored(o); st != orders.StatusConfirmed || n != 1 {
			t.Errorf("after ConfirmUnchanged: %s, %d intents", st, n)
		}
		got, err := store.Intent(ctx, pi.ID)
		if err != nil || got.Status != payments.StatusScheduled || got.MandateID != "mdt_1" || got.CollectionMonth != "2026-12" ||
			got.Amount != o.Total || !got.CreatedAt.Equal(t0) || got.CardID != "" {
			t.Errorf("stored intent = %+v, %v", got, err)
		}
		// Confirmed: the version it was read at no longer holds.
		if done, err := confirmUnchanged(scheduledFor(o), read.Version); done || err != nil {
			t.Errorf("second ConfirmUnchanged = %v, %v", done, err)
		}

		// A card intent opened after the read (its transaction holds the order's row): the
		// one-step write refuses, writing nothing, whether the card's transaction committed before
		// it started or while it waited for the row.
		openCard := func(o orders.Order) payments.Intent {
			card := intentFor(o, payments.StatusRequiresAction)
			err := store.InTx(ctx, func(tx payments.Tx) error {
				if err := tx.HoldPayableOrder(ctx, o.ID, t0); err != nil {
					return err
				}
				return tx.InsertIntent(ctx, card)
			})
			if err != nil {
				t.Fatal(err)
			}
			return card
		}
		o2 := newOrderN(t, db, 1)
		read2, err := store.OrderToPay(ctx, o2.ID)
		if err != nil {
			t.Fatal(err)
		}
		openCard(o2)
		if done, err := confirmUnchanged(scheduledFor(o2), read2.Version); done || err != nil {
			t.Errorf("after a card intent opened: %v, %v", done, err)
		}
		if st, n := stored(o2); st != orders.StatusPaymentPending || n != 1 {
			t.Errorf("after the refusal: %s, %d intents", st, n)
		}
		if again, _ := store.OrderToPay(ctx, o2.ID); !again.HasOpenIntents {
			t.Error("OrderToPay does not see the open intent")
		}

		o3 := newOrderN(t, db, 2)
		read3, err := store.OrderToPay(ctx, o3.ID)
		if err != nil {
			t.Fatal(err)
		}
		holding, release := make(chan struct{}), make(chan struct{})
		cardDone := make(chan error, 1)
		go func() {
			cardDone <- store.InTx(ctx, func(tx payments.Tx) error {
				if err := tx.HoldPayableOrder(ctx, o3.ID, t0); err != nil {
					return err
				}
				if err := tx.InsertIntent(ctx, intentFor(o3, payments.StatusRequiresAction)); err != nil {
					return err
				}
				close(holding)
				<-release
				return nil
			})
		}()
		<-holding
		result := make(chan error, 1)
		var done bool
		go func() {
			var err error
			done, err = confirmUnchanged(scheduledFor(o3), read3.Version)
			result <- err
		}()
		time.Sleep(200 * time.Millisecond) // let the one-step write wait for the order's row
		close(release)
		if err := <-cardDone; err != nil {
			t.Fatal(err)
		}
		if err := <-result; done || err != nil {
			t.Errorf("ConfirmUnchanged that waited for the card's transaction = %v, %v", done, err)
		}
		if st, n := stored(o3); st != orders.StatusPaymentPending || n != 1 {
			t.Errorf("after the refusal: %s, %d intents", st, n)
		}
	})
}
