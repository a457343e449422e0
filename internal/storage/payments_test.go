package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

var t0 = time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)

// newOrder stores a buyer, a centre and a payment_pending order of 120.00 EUR.
func newOrder(t *testing.T, db *storage.DB) orders.Order {
	t.Helper()
	ctx := context.Background()
	p := storage.NewParties(db)
	b := parties.Buyer{ID: id.New(id.Buyer), Name: "Garage", SIREN: "812345676", Email: "a@b.fr", CreatedAt: t0,
		Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}}
	c := parties.Center{ID: id.New(id.Center), Name: "CVHU", SIRET: "81234567600017", Email: "c@d.fr", CreatedAt: t0, Address: b.Address}
	if err := p.CreateBuyer(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateCenter(ctx, c); err != nil {
		t.Fatal(err)
	}
	o, err := orders.NewOrder(orders.NewOrderInput{BuyerID: b.ID, CenterID: c.ID, DeliveryMode: orders.DeliveryModePickup,
		Lines: []orders.LineInput{{Reference: "R", Label: "L", Quantity: 1, UnitPriceExclVAT: 10000}}}, id.New(id.Order), t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.NewOrders(db).CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	return o
}

func intentFor(o orders.Order, status payments.Status) payments.Intent {
	return payments.Intent{ID: id.New(id.PaymentIntent), OrderID: o.ID, BuyerID: o.BuyerID, Amount: o.Total, Currency: "EUR",
		Method: payments.MethodCard, Status: status, CreatedAt: t0, UpdatedAt: t0}
}

func TestIntentInvariants(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewPayments(db)
		o := newOrder(t, db)
		insert := func(pi payments.Intent) error {
			return store.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, pi) })
		}

		// One open intent per order, enforced by the database.
		first := intentFor(o, payments.StatusProcessing)
		if err := insert(first); err != nil {
			t.Fatal(err)
		}
		if err := insert(intentFor(o, payments.StatusRequiresAction)); !errors.Is(err, orders.ErrNotPayable) {
			t.Errorf("second open intent: err = %v, want orders.ErrNotPayable", err)
		}
		if err := insert(intentFor(o, payments.StatusFailed)); err != nil {
			t.Errorf("a failed intent beside an open one: %v", err)
		}
		// An order with a payment processing cannot be deleted.
		if err := storage.NewOrders(db).CancelOrder(ctx, o.ID, t0); !errors.Is(err, orders.ErrNotDeletable) {
			t.Errorf("CancelOrder with a processing intent: err = %v", err)
		}

		// An order is confirmed once.
		confirm := func() error {
			return store.InTx(ctx, func(tx payments.Tx) error { return tx.ConfirmOrder(ctx, o.ID, t0) })
		}
		if err := confirm(); err != nil {
			t.Fatal(err)
		}
		if err := confirm(); !errors.Is(err, orders.ErrNotPayable) {
			t.Errorf("second confirmation: err = %v, want orders.ErrNotPayable", err)
		}
		if err := store.InTx(ctx, func(tx payments.Tx) error { return tx.HoldPayableOrder(ctx, o.ID, t0) }); !errors.Is(err, orders.ErrNotPayable) {
			t.Errorf("HoldPayableOrder on a confirmed order: err = %v", err)
		}

		// A conditional update only moves an intent from the given statuses.
		done := first
		done.Status = payments.StatusSucceeded
		err := store.InTx(ctx, func(tx payments.Tx) error {
			if ok, err := tx.UpdateIntent(ctx, done, payments.StatusRequiresAction); err != nil || ok {
				t.Errorf("update from the wrong status: %v, %v", ok, err)
			}
			if ok, err := tx.UpdateIntent(ctx, done, payments.StatusProcessing); err != nil || !ok {
				t.Errorf("update from processing: %v, %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestExpireIntents(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewPayments(db)
		var stale, fresh payments.Intent
		for i, at := range []time.Time{t0, t0.Add(20 * time.Minute)} {
			o := newOrderN(t, db, i)
			pi := intentFor(o, payments.StatusRequiresAction)
			pi.CreatedAt, pi.UpdatedAt = at, at
			if err := store.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, pi) }); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				stale = pi
			} else {
				fresh = pi
			}
		}
		expire := func() ([]string, error) {
			var ids []string
			err := store.InTx(ctx, func(tx payments.Tx) (err error) {
				ids, err = tx.ExpireIntents(ctx, t0.Add(10*time.Minute), t0.Add(40*time.Minute), "too late")
				return err
			})
			return ids, err
		}
		ids, err := expire()
		if err != nil || len(ids) != 1 || ids[0] != stale.ID {
			t.Fatalf("ExpireIntents = %v, %v", ids, err)
		}
		got, _ := store.Intent(ctx, stale.ID)
		if got.Status != payments.StatusCanceled || got.LastError == nil || got.LastError.Code != payments.CodeExpired {
			t.Errorf("stale = %+v", got)
		}
		if got, _ := store.Intent(ctx, fresh.ID); got.Status != payments.StatusRequiresAction {
			t.Errorf("fresh = %+v", got)
		}
		if ids, _ := expire(); len(ids) != 0 {
			t.Errorf("second run expired %v", ids)
		}
	})
}

// newOrderN is newOrder for the n-th order of a test (distinct SIREN and SIRET).
func newOrderN(t *testing.T, db *storage.DB, n int) orders.Order {
	t.Helper()
	if n == 0 {
		return newOrder(t, db)
	}
	ctx := context.Background()
	sirens := []string{"823456785", "834567893"}
	sirets := []string{"82345678500018", "83456789300013"}
	p := storage.NewParties(db)
	b := parties.Buyer{ID: id.New(id.Buyer), Name: "Garage", SIREN: sirens[n-1], Email: "a@b.fr", CreatedAt: t0,
		Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}}
	c := parties.Center{ID: id.New(id.Center), Name: "CVHU", SIRET: sirets[n-1], Email: "c@d.fr", CreatedAt: t0, Address: b.Address}
	if err := p.CreateBuyer(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateCenter(ctx, c); err != nil {
		t.Fatal(err)
	}
	o, _ := orders.NewOrder(orders.NewOrderInput{BuyerID: b.ID, CenterID: c.ID, DeliveryMode: orders.DeliveryModePickup,
		Lines: []orders.LineInput{{Reference: "R", Label: "L", Quantity: 1, UnitPriceExclVAT: 500}}}, id.New(id.Order), t0)
	if err := storage.NewOrders(db).CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	return o
}

// reservingHandler is a method handler like SEPA's: it writes through its own unit of work (a
// payment's with a write of its own), then accepts or refuses.
func reservingHandler(db *storage.DB, refuse error) payments.MethodHandler {
	return payments.Handler(storage.ExecUnits(db), func(ctx context.Context, tx storage.ExecTx, o orders.Order, pi *payments.Intent) error {
		if err := tx.Exec(ctx, "UPDATE orders SET external_reference = 'reserved' WHERE id = ?", o.ID); err != nil {
			return err
		}
		if refuse != nil {
			return refuse
		}
		pi.MandateID, pi.CollectionMonth = "mdt_x", "2026-12"
		return pi.Schedule(pi.CreatedAt)
	})
}

var errRefused = errors.New("refused")

func TestMethodHandlerSeam(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		o := newOrder(t, db)
		service := func(h payments.MethodHandler) *payments.Service {
			return payments.NewService(payments.Config{Store: storage.NewPayments(db), Orders: storage.NewPayments(db),
				Clock: clock.NewManual(t0), Methods: map[payments.Method]payments.MethodHandler{payments.MethodSEPADebit: h}})
		}
		buyer := auth.Principal{Subject: "u", Role: auth.RoleBuyer, Org: o.BuyerID}
		in := payments.CreateInput{OrderID: o.ID, Method: payments.MethodSEPADebit}

		// A refusal rolls everything back, the handler's own writes included.
		if _, err := service(reservingHandler(db, errRefused)).Create(ctx, buyer, in); !errors.Is(err, errRefused) {
			t.Fatalf("refused: err = %v", err)
		}
		got, _ := storage.NewOrders(db).Order(ctx, o.ID)
		if got.ExternalReference != "" || got.Status != orders.StatusPaymentPending || got.Payment != nil {
			t.Errorf("after a refusal: %+v", got)
		}

		// Acceptance: the handler's write, the intent and the order's confirmation commit together.
		pi, err := service(reservingHandler(db, nil)).Create(ctx, buyer, in)
		if err != nil {
			t.Fatal(err)
		}
		if pi.Status != payments.StatusScheduled || pi.MandateID != "mdt_x" || pi.CollectionMonth != "2026-12" {
			t.Errorf("intent = %+v", pi)
		}
		got, _ = storage.NewOrders(db).Order(ctx, o.ID)
		if got.ExternalReference != "reserved" || got.Status != orders.StatusConfirmed || got.Payment == nil || got.Payment.IntentID != pi.ID {
			t.Errorf("after acceptance: %+v", got)
		}
		stored, err := storage.NewPayments(db).Intent(ctx, pi.ID)
		if err != nil || stored.MandateID != "mdt_x" || stored.CollectionMonth != "2026-12" || stored.Status != payments.StatusScheduled {
			t.Errorf("stored = %+v, %v", stored, err)
		}

		// A method without a handler is refused on "method".
		if _, err := service(nil).Create(ctx, buyer, payments.CreateInput{OrderID: o.ID, Method: payments.MethodVHUInvoice}); err == nil {
			t.Error("vhu_invoice without a handler was accepted")
		}
	})
}

// The queries behind the card path's resume and sweep.
func TestCardResumeQueries(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewPayments(db)
		insert := func(pi payments.Intent) error {
			return store.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, pi) })
		}
		o := newOrder(t, db)

		// A card intent written before its charge: processing, no pay-in, its request key and
		// return URL kept.
		first := intentFor(o, payments.StatusProcessing)
		first.RequestKey, first.ReturnURL = payments.RequestKey("buyer:b", "k1"), "https://shop.example/return"
		if err := insert(first); err != nil {
			t.Fatal(err)
		}
		got, err := store.IntentByRequestKey(ctx, first.RequestKey)
		if err != nil || got.ID != first.ID || got.ReturnURL != first.ReturnURL || got.ProviderPayInID != "" {
			t.Fatalf("IntentByRequestKey = %+v, %v", got, err)
		}
		if _, err := store.IntentByRequestKey(ctx, "nope"); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
		unsent, err := store.UnsentCardIntents(ctx, t0.Add(time.Minute), 10)
		if err != nil || len(unsent) != 1 || unsent[0].ID != first.ID {
			t.Fatalf("UnsentCardIntents = %+v, %v", unsent, err)
		}
		if unsent, err := store.UnsentCardIntents(ctx, t0, 10); err != nil || len(unsent) != 0 {
			t.Fatalf("UnsentCardIntents before it was written = %+v, %v", unsent, err)
		}

		// The charge's answer records the pay-in id with the outcome (conditional update).
		next := first
		next.ProviderPayInID, next.UpdatedAt = "payin_1", t0.Add(time.Second)
		err = store.InTx(ctx, func(tx payments.Tx) error {
			ok, err := tx.UpdateIntent(ctx, next, payments.StatusProcessing)
			if err == nil && !ok {
				t.Error("the update from processing did not apply")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := store.IntentByPayIn(ctx, "payin_1"); err != nil || got.ID != first.ID {
			t.Fatalf("IntentByPayIn after the answer = %+v, %v", got, err)
		}
		if unsent, err := store.UnsentCardIntents(ctx, t0.Add(time.Hour), 10); err != nil || len(unsent) != 0 {
			t.Fatalf("an intent with its pay-in is not unsent: %+v, %v", unsent, err)
		}

		// One open intent per request key; final ones let the retry pay anew.
		o2 := newOrderN(t, db, 1)
		open := intentFor(o2, payments.StatusRequiresAction)
		open.RequestKey = payments.RequestKey("buyer:b", "k3")
		if err := insert(open); err != nil {
			t.Fatal(err)
		}
		dup := intentFor(newOrderN(t, db, 2), payments.StatusProcessing)
		dup.RequestKey = open.RequestKey
		if err := insert(dup); err == nil {
			t.Fatal("a second open intent with the same request key was accepted")
		}
		var ok bool
		if err := store.InTx(ctx, func(tx payments.Tx) (err error) { ok, err = tx.CancelIntent(ctx, open.ID, t0); return err }); err != nil || !ok {
			t.Fatalf("CancelIntent = %v, %v", ok, err)
		}
		canceled := intentFor(o2, payments.StatusCanceled)
		canceled.RequestKey = open.RequestKey
		if err := insert(canceled); err != nil {
			t.Fatal(err)
		}
		retried := intentFor(o2, payments.StatusProcessing)
		retried.RequestKey = canceled.RequestKey
		if err := insert(retried); err != nil {
			t.Fatalf("the retry after a canceled intent: %v", err)
		}
		if got, err := store.IntentByRequestKey(ctx, canceled.RequestKey); err != nil || got.ID != retried.ID {
			t.Fatalf("IntentByRequestKey = %+v, %v; want the newest", got, err)
		}

		// A swept pay-in (an orphan's refund) is recorded once.
		if _, ok, err := store.SweptPayIn(ctx, "payin_x"); err != nil || ok {
			t.Fatalf("SweptPayIn before = %v, %v", ok, err)
		}
		for _, r := range []string{"refund_1", "refund_2"} {
			err := store.RecordSwept(ctx, payments.SweptPayIn{PayInID: "payin_x", Outcome: payments.SweptOrphanRefunded, RefundID: r, Amount: 385, At: t0})
			if err != nil {
				t.Fatal(err)
			}
		}
		swept, ok, err := store.SweptPayIn(ctx, "payin_x")
		want := payments.SweptPayIn{PayInID: "payin_x", Outcome: payments.SweptOrphanRefunded, RefundID: "refund_1", Amount: 385, At: t0}
		if err != nil || !ok || swept != want {
			t.Fatalf("SweptPayIn = %+v, %v, %v; want the first %+v", swept, ok, err, want)
		}
	})
}
