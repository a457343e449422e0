package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestInvoicingStoreInvariants checks, on both databases, what the invoicing store guarantees by
// itself: one live account per pair, conditional decisions, payments only through an approved
// account and only onto an open statement, a set-based idempotent issue, and mark-paid.
func TestInvoicingStoreInvariants(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewInvoicing(db)
		pay := storage.NewPayments(db)
		first := newOrder(t, db)
		second, err := orders.NewOrder(orders.NewOrderInput{BuyerID: first.BuyerID, CenterID: first.CenterID, DeliveryMode: orders.DeliveryModeDelivery,
			Lines: []orders.LineInput{{Reference: "S", Label: "L", Quantity: 2, UnitPriceExclVAT: 1000, VATRate: new(550)}}}, id.New(id.Order), t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := storage.NewOrders(db).CreateOrder(ctx, second); err != nil {
			t.Fatal(err)
		}

		// accept runs the vhu_invoice seam as the payments service does, in one transaction.
		accept := func(o orders.Order, month string) (payments.Intent, error) {
			pi := payments.Intent{ID: id.New(id.PaymentIntent), OrderID: o.ID, BuyerID: o.BuyerID, Amount: o.Total, Currency: "EUR",
				Method: payments.MethodVHUInvoice, Status: payments.StatusScheduled, CreatedAt: t0, UpdatedAt: t0}
			err := db.InvoicingUnits().InTx(ctx, func(tx invoicing.Tx) error {
				accountID, err := tx.AcceptPayment(ctx, invoicing.Acceptance{BuyerID: o.BuyerID, CenterID: o.CenterID, OrderID: o.ID,
					IntentID: pi.ID, Month: month, StatementID: id.New(id.Statement), TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT,
					Total: o.Total, At: t0})
				if err != nil {
					return err
				}
				pi.InvoicingAccountID = accountID
				if err := tx.ConfirmOrder(ctx, o.ID, t0); err != nil {
					return err
				}
				return tx.InsertIntent(ctx, pi)
			})
			return pi, err
		}

		acct := invoicing.NewAccount(id.New(id.InvoicingAccount), first.BuyerID, first.CenterID, t0)
		if err := store.CreateAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateAccount(ctx, invoicing.NewAccount(id.New(id.InvoicingAccount), first.BuyerID, first.CenterID, t0)); !errors.Is(err, invoicing.ErrAccountExists) {
			t.Errorf("second live account: %v, want ErrAccountExists", err)
		}
		if _, err := accept(first, "2026-11"); !errors.Is(err, invoicing.ErrNotApproved) {
			t.Errorf("payment through a pending account: %v, want ErrNotApproved", err)
		}

		approved := acct
		if err := approved.Approve("ok", t0); err != nil {
			t.Fatal(err)
		}
		// The decision and its audit entry go together: an entry that cannot be written leaves
		// the account pending.
		if err := store.SaveDecision(ctx, approved, invoicing.AccountPending, &brokenAudit); err == nil {
			t.Fatal("SaveDecision with a broken audit entry succeeded")
		}
		if got, _ := store.Account(ctx, acct.ID); got.Status != invoicing.AccountPending {
			t.Fatalf("account after a failed audit = %s, want pending", got.Status)
		}
		if err := store.SaveDecision(ctx, approved, invoicing.AccountPending, auditEntry("invoicing_account.approve", acct.ID)); err != nil {
			t.Fatal(err)
		}
		expectAuditRows(t, db, "invoicing_account.approve", acct.ID, 1)
		stale := acct // read before the approval
		if err := stale.Reject("", t0); err != nil {
			t.Fatal(err)
		}
		if err := store.SaveDecision(ctx, stale, invoicing.AccountPending, nil); !errors.Is(err, invoicing.ErrInvalidTransition) {
			t.Errorf("a decision on a stale read: %v, want ErrInvalidTransition", err)
		}
		unknown := invoicing.NewAccount("ina_nope", first.BuyerID, first.CenterID, t0)
		_ = unknown.Approve("", t0)
		if err := store.SaveDecision(ctx, unknown, invoicing.AccountPending, nil); !errors.Is(err, invoicing.ErrNotFound) {
			t.Errorf("a decision on an unknown account: %v, want ErrNotFound", err)
		}
		if got, err := store.Account(ctx, acct.ID); err != nil || got.Status != invoicing.AccountApproved || got.Note != "ok" || got.DecidedAt == nil {
			t.Errorf("account = %+v, %v", got, err)
		}

		pi, err := accept(first, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if pi.InvoicingAccountID != acct.ID {
			t.Errorf("intent's account = %q", pi.InvoicingAccountID)
		}
		if n, err := store.IssueMonth(ctx, "2026-11", t0); n != 1 || err != nil {
			t.Fatalf("IssueMonth = %d, %v", n, err)
		}
		if n, err := store.IssueMonth(ctx, "2026-11", t0); n != 1 || err != nil {
			t.Fatalf("IssueMonth again = %d, %v; want the same count", n, err)
		}

		// A payment of an issued month is refused and rolled back: totals stay frozen.
		if _, err := accept(second, "2026-11"); !errors.Is(err, invoicing.ErrStatementClosed) || !errors.Is(err, invoicing.ErrNotApproved) {
			t.Errorf("payment onto an issued statement: %v, want ErrStatementClosed", err)
		}
		if o, _ := storage.NewOrders(db).Order(ctx, second.ID); o.Status != orders.StatusPaymentPending {
			t.Errorf("refused order = %s", o.Status)
		}
		res, err := store.Statements(ctx, invoicing.StatementFilter{Month: "2026-11"}, page.Request{Limit: 10})
		if err != nil || len(res.Items) != 1 {
			t.Fatalf("November statements = %+v, %v", res.Items, err)
		}
		st := res.Items[0]
		if st.Status != invoicing.StatementIssued || st.Total != first.Total || len(st.Orders) != 1 || st.Orders[0].OrderID != first.ID || st.IssuedAt == nil {
			t.Errorf("issued statement = %+v", st)
		}

		// The next month gets its own statement.
		if _, err := accept(second, "2026-12"); err != nil {
			t.Fatal(err)
		}
		dec, err := store.Statements(ctx, invoicing.StatementFilter{Month: "2026-12", BuyerID: first.BuyerID}, page.Request{Limit: 10})
		if err != nil || len(dec.Items) != 1 || dec.Items[0].Status != invoicing.StatementOpen || dec.Items[0].Total != second.Total || dec.Items[0].ID == st.ID {
			t.Fatalf("December statements = %+v, %v", dec.Items, err)
		}
		if err := store.MarkStatementPaid(ctx, dec.Items[0].ID, t0, nil); !errors.Is(err, invoicing.ErrInvalidTransition) {
			t.Errorf("mark an open statement paid: %v, want ErrInvalidTransition", err)
		}

		// Mark paid: the statement and its intents, once, with the audit entry or not at all.
		if err := store.MarkStatementPaid(ctx, st.ID, t0, &brokenAudit); err == nil {
			t.Fatal("MarkStatementPaid with a broken audit entry succeeded")
		}
		if got, _ := pay.Intent(ctx, pi.ID); got.Status != payments.StatusScheduled {
			t.Errorf("intent after a failed audit: %s, want scheduled", got.Status)
		}
		if err := store.MarkStatementPaid(ctx, st.ID, t0, auditEntry("statement.mark_paid", st.ID)); err != nil {
			t.Fatal(err)
		}
		expectAuditRows(t, db, "statement.mark_paid", st.ID, 1)
		if got, _ := pay.Intent(ctx, pi.ID); got.Status != payments.StatusSucceeded {
			t.Errorf("intent after mark-paid: %s", got.Status)
		}
		if err := store.MarkStatementPaid(ctx, st.ID, t0, nil); !errors.Is(err, invoicing.ErrInvalidTransition) {
			t.Errorf("mark paid twice: %v, want ErrInvalidTransition", err)
		}
		if n, err := store.IssueMonth(ctx, "2026-11", t0); n != 1 || err != nil {
			t.Errorf("IssueMonth after mark-paid = %d, %v; want the paid statement counted", n, err)
		}
		if err := store.MarkStatementPaid(ctx, "stm_nope", t0, nil); !errors.Is(err, invoicing.ErrNotFound) {
			t.Errorf("mark an unknown statement paid: %v, want ErrNotFound", err)
		}

		// Delivery note numbers are unique per centre.
		note := invoicing.DeliveryNote{Kind: invoicing.NoteBL, Number: "BL-1", CreatedAt: t0}
		if err := store.AttachDeliveryNote(ctx, first.ID, first.CenterID, note); err != nil {
			t.Fatal(err)
		}
		note.Kind = invoicing.NoteBR
		if err := store.AttachDeliveryNote(ctx, second.ID, first.CenterID, note); !errors.Is(err, invoicing.ErrDeliveryNoteExists) {
			t.Errorf("a number used twice: %v, want ErrDeliveryNoteExists", err)
		}
		// The note takes its buyer from the order in the same statement: an unknown order writes
		// nothing and says so.
		note.Number = "BL-2"
		if err := store.AttachDeliveryNote(ctx, "ord_nope", first.CenterID, note); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("a note on an unknown order: %v, want orders.ErrNotFound", err)
		}
		if err := store.AttachDeliveryNote(ctx, second.ID, second.CenterID, note); err != nil {
			t.Errorf("the number refused for an unknown order is still free: %v", err)
		}

		// Once revoked, the pair may have a new live account.
		revoked := approved
		if err := revoked.Revoke("", t0); err != nil {
			t.Fatal(err)
		}
		if err := store.SaveDecision(ctx, revoked, invoicing.AccountApproved, nil); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateAccount(ctx, invoicing.NewAccount(id.New(id.InvoicingAccount), first.BuyerID, first.CenterID, t0)); err != nil {
			t.Errorf("a new account after the revocation: %v", err)
		}
	})
}
