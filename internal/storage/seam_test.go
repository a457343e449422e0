package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// TestPaymentSeamCommitsTheThreeTogether shows the one place where a capability writes its state
// change with its event and its ledger postings: its payments.Accept, inside the payment's unit
// of work. A refusal by the method, and an order that stopped being payable after the method
// accepted, roll the state change (the method's own row and the intent), the event and the
// postings back together; an acceptance commits all of them at once. Both databases.
func TestPaymentSeamCommitsTheThreeTogether(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := db.SQL().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		written := func() [4]int {
			return [4]int{count("SELECT count(*) FROM orders WHERE external_reference = 'reserved'"),
				count("SELECT count(*) FROM payment_intents"), count("SELECT count(*) FROM events"),
				count("SELECT count(*) FROM ledger_postings")}
		}
		// method is a capability written the obvious way: its row, its event and its postings
		// through the unit it is given, then its transition.
		method := func(refuse error) payments.MethodHandler {
			return payments.Handler(storage.ExecUnits(db), func(ctx context.Context, tx storage.ExecTx, o orders.Order, pi *payments.Intent) error {
				if err := tx.Exec(ctx, "UPDATE orders SET external_reference = 'reserved' WHERE id = ?", o.ID); err != nil {
					return err
				}
				if err := tx.Emit(ctx, txn.Event{Type: "payment_intent.scheduled", BuyerID: o.BuyerID, Object: map[string]any{"id": pi.ID}, At: pi.CreatedAt}); err != nil {
					return err
				}
				if err := tx.Post(ctx, ledger.Transaction{Kind: "payment", SourceID: pi.ID, At: pi.CreatedAt, Postings: []ledger.Posting{
					{Account: ledger.Buyer(o.BuyerID), Amount: -o.Total}, {Account: ledger.Center(o.CenterID), Amount: o.Total},
				}}); err != nil {
					return err
				}
				if refuse != nil {
					return refuse
				}
				pi.MandateID, pi.CollectionMonth = "mdt_x", "2026-12"
				return pi.Schedule(pi.CreatedAt)
			})
		}
		service := func(h payments.MethodHandler) *payments.Service {
			return payments.NewService(payments.Config{Store: storage.NewPayments(db), Orders: storage.NewPayments(db),
				Clock: clock.NewManual(t0), Methods: map[payments.Method]payments.MethodHandler{payments.MethodSEPADebit: h}})
		}
		o := newOrder(t, db)
		buyer := auth.Principal{Subject: "u", Role: auth.RoleBuyer, Org: o.BuyerID}
		in := payments.CreateInput{OrderID: o.ID, Method: payments.MethodSEPADebit}

		// The method refuses after writing: nothing of the three is left.
		if _, err := service(method(errRefused)).Create(ctx, buyer, in); !errors.Is(err, errRefused) {
			t.Fatalf("refused: err = %v", err)
		}
		if got := written(); got != [4]int{} {
			t.Errorf("after a refusal (row, intents, events, postings) = %v, want none", got)
		}

		// The method accepts, and the payment's own write then fails (a concurrent payment
		// confirmed the order after it was read): the method's writes roll back with it.
		stale := payments.Handler(storage.ExecUnits(db), func(ctx context.Context, tx storage.ExecTx, o orders.Order, pi *payments.Intent) error {
			if err := tx.Exec(ctx, "UPDATE orders SET external_reference = 'reserved' WHERE id = ?", o.ID); err != nil {
				return err
			}
			if err := tx.Emit(ctx, txn.Event{Type: "payment_intent.scheduled", BuyerID: o.BuyerID, Object: map[string]any{"id": pi.ID}, At: pi.CreatedAt}); err != nil {
				return err
			}
			if err := tx.Post(ctx, ledger.Transaction{Kind: "payment", SourceID: pi.ID, At: pi.CreatedAt, Postings: []ledger.Posting{
				{Account: ledger.Buyer(o.BuyerID), Amount: -o.Total}, {Account: ledger.Center(o.CenterID), Amount: o.Total},
			}}); err != nil {
				return err
			}
			// A concurrent payment confirmed the order after it was read.
			if err := tx.Exec(ctx, "UPDATE orders SET status = 'confirmed' WHERE id = ?", o.ID); err != nil {
				return err
			}
			return pi.Schedule(pi.CreatedAt)
		})
		if _, err := service(stale).Create(ctx, buyer, in); !errors.Is(err, orders.ErrNotPayable) {
			t.Fatalf("order paid meanwhile: err = %v, want ErrNotPayable", err)
		}
		if got := written(); got != [4]int{} {
			t.Errorf("after the payment's write failed (row, intents, events, postings) = %v, want none", got)
		}
		if got, _ := storage.NewOrders(db).Order(ctx, o.ID); got.Status != orders.StatusPaymentPending {
			t.Errorf("order status %s after the rollback, want payment_pending", got.Status)
		}

		// Acceptance: the four commit together. The events are the method's own and the
		// payment's (payment_intent.scheduled, order.confirmed), written by the service in the
		// same unit.
		pi, err := service(method(nil)).Create(ctx, buyer, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := written(); got != [4]int{1, 1, 3, 2} {
			t.Errorf("after acceptance (row, intents, events, postings) = %v, want [1 1 3 2]", got)
		}
		if n := count("SELECT count(*) FROM events WHERE type = 'order.confirmed' AND buyer_id = '" + o.BuyerID + "' AND center_id = '" + o.CenterID + "'"); n != 1 {
			t.Errorf("order.confirmed events = %d, want 1", n)
		}
		if n := count("SELECT count(*) FROM ledger_transactions WHERE source_id = '" + pi.ID + "'"); n != 1 {
			t.Errorf("ledger transactions of %s = %d, want 1", pi.ID, n)
		}
	})
}

// TestIntentEventRollsBackWithItsChange: a payment intent's event is written in the unit of the
// transition it reports, so a unit that fails after the transition and its event leaves neither;
// one that commits leaves both. The order's delete, refused because a payment is in flight,
// leaves no order.cancelled either. Both databases.
func TestIntentEventRollsBackWithItsChange(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewPayments(db)
		events := func() int {
			t.Helper()
			var n int
			if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		o := newOrder(t, db)
		pi := intentFor(o, payments.StatusRequiresAction)
		if err := store.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, pi) }); err != nil {
			t.Fatal(err)
		}
		cancel := func(fail error) error {
			return store.InTx(ctx, func(tx payments.Tx) error {
				if ok, err := tx.CancelIntent(ctx, pi.ID, t0); err != nil || !ok {
					return fmt.Errorf("cancel: %v, %w", ok, err)
				}
				if err := payments.EmitIntent(ctx, tx, pi.ID, t0); err != nil {
					return err
				}
				return fail
			})
		}
		if err := cancel(errRefused); !errors.Is(err, errRefused) {
			t.Fatalf("failed unit: err = %v", err)
		}
		if got, _ := store.Intent(ctx, pi.ID); got.Status != payments.StatusRequiresAction || events() != 0 {
			t.Errorf("after the rollback: intent %s, %d events; want requires_action, none", got.Status, events())
		}
		if err := cancel(nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.Intent(ctx, pi.ID); got.Status != payments.StatusCanceled || events() != 1 {
			t.Errorf("after the commit: intent %s, %d events; want canceled, 1", got.Status, events())
		}

		// A delete refused (a payment processing at the provider) writes no event.
		o2 := newOrderN(t, db, 1)
		if err := store.InTx(ctx, func(tx payments.Tx) error {
			return tx.InsertIntent(ctx, intentFor(o2, payments.StatusProcessing))
		}); err != nil {
			t.Fatal(err)
		}
		if err := storage.NewOrders(db).CancelOrder(ctx, o2.ID, t0); !errors.Is(err, orders.ErrNotDeletable) {
			t.Fatalf("CancelOrder = %v, want ErrNotDeletable", err)
		}
		if n := events(); n != 1 {
			t.Errorf("events after the refused delete = %d, want 1", n)
		}
	})
}
