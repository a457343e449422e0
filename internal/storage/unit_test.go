package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// TestUnitOfWork checks, on both databases, that what a unit of work emits (an event, a ledger
// transaction, an audit entry) commits with it and rolls back with it, and that the ledger refuses
// unbalanced, duplicate and edited transactions.
func TestUnitOfWork(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := txn.WithRequestID(context.Background(), "req-1")
		db := storagetest.Open(t, b)
		at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
		count := func(table string) int {
			t.Helper()
			var n int
			if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		payment := ledger.Transaction{Kind: "payment", SourceID: "pi_1", At: at, Postings: []ledger.Posting{
			{Account: ledger.Buyer("byr_1"), Amount: -12000}, {Account: ledger.Center("ctr_1"), Amount: 11400}, {Account: ledger.PlatformFees, Amount: 600},
		}}
		all := func(tx txn.Tx) error {
			if err := tx.Emit(ctx, txn.Event{Type: "payment_intent.succeeded", BuyerID: "byr_1", Object: map[string]any{"id": "pi_1"}, At: at}); err != nil {
				return err
			}
			if err := tx.Post(ctx, payment); err != nil {
				return err
			}
			return tx.Audit(ctx, txn.AuditEntry{Action: "refund.create", Actor: txn.Actor{Subject: "u1", Role: "admin"}, TargetID: "pi_1",
				After: map[string]any{"id": "pi_1"}, At: at})
		}

		boom := errors.New("the change failed after emitting")
		err := db.Units().InTx(ctx, func(tx txn.Tx) error {
			if err := all(tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want the function's error", err)
		}
		for _, table := range []string{"events", "ledger_transactions", "ledger_postings", "audit_events"} {
			if n := count(table); n != 0 {
				t.Errorf("after a rollback %s has %d rows, want 0", table, n)
			}
		}

		if err := db.Units().InTx(ctx, all); err != nil {
			t.Fatal(err)
		}
		for table, want := range map[string]int{"events": 1, "ledger_transactions": 1, "ledger_postings": 3, "audit_events": 1} {
			if n := count(table); n != want {
				t.Errorf("after a commit %s has %d rows, want %d", table, n, want)
			}
		}
		var data, requestID, buyer string
		if err := db.SQL().QueryRowContext(ctx, "SELECT data, buyer_id FROM events").Scan(&data, &buyer); err != nil {
			t.Fatal(err)
		}
		if data != `{"object": {"id": "pi_1"}}` && data != `{"object":{"id":"pi_1"}}` || buyer != "byr_1" {
			t.Errorf("event data %s buyer %q", data, buyer)
		}
		if err := db.SQL().QueryRowContext(ctx, "SELECT request_id FROM audit_events").Scan(&requestID); err != nil || requestID != "req-1" {
			t.Errorf("audit request_id %q (%v), want req-1", requestID, err)
		}

		err = db.Units().InTx(ctx, func(tx txn.Tx) error { return tx.Post(ctx, payment) })
		if !errors.Is(err, ledger.ErrDuplicate) {
			t.Errorf("posting the same kind and source twice: %v, want ErrDuplicate", err)
		}
		unbalanced := payment
		unbalanced.SourceID, unbalanced.Postings = "pi_2", []ledger.Posting{{Account: ledger.PlatformFees, Amount: 1}, {Account: ledger.ExternalCard, Amount: 2}}
		err = db.Units().InTx(ctx, func(tx txn.Tx) error { return tx.Post(ctx, unbalanced) })
		if !errors.Is(err, ledger.ErrUnbalanced) {
			t.Errorf("unbalanced posting: %v, want ErrUnbalanced", err)
		}
		if _, err := db.SQL().ExecContext(ctx, "UPDATE ledger_postings SET amount = amount + 1"); err == nil {
			t.Error("the ledger's postings could be updated")
		}
		if _, err := db.SQL().ExecContext(ctx, "DELETE FROM ledger_transactions"); err == nil {
			t.Error("the ledger's transactions could be deleted")
		}
		if b == storagetest.Postgres {
			// Past the write path's check, PostgreSQL itself refuses an unbalanced transaction at commit.
			tx, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO ledger_transactions (id, kind, source_id, created_at) VALUES ('ltx_x', 'payment', 'pi_x', now())`)
			if err == nil {
				_, err = tx.ExecContext(ctx, `INSERT INTO ledger_postings (transaction_id, seq, account, amount, created_at) VALUES ('ltx_x', 0, 'platform:fees', 5, now()), ('ltx_x', 1, 'external:card', -4, now())`)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err == nil {
				t.Error("PostgreSQL committed an unbalanced ledger transaction")
			}
		}
	})
}
