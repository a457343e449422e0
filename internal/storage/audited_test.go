package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// brokenAudit is an audit entry that cannot be written (no action): the change it goes with must
// roll back.
var brokenAudit = txn.AuditEntry{Actor: txn.Actor{Subject: "admin-1", Role: "admin"}, TargetID: "x", At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}

func auditEntry(action, target string) *txn.AuditEntry {
	return &txn.AuditEntry{Action: action, Actor: txn.Actor{Subject: "admin-1", Role: "admin"}, TargetID: target,
		At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
}

func expectAuditRows(t *testing.T, db *storage.DB, action, target string, n int) {
	t.Helper()
	var got int
	if err := db.SQL().QueryRowContext(context.Background(),
		"SELECT count(*) FROM audit_events WHERE action = '"+action+"' AND target_id = '"+target+"'").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("%d %s audit entries for %s, want %d", got, action, target, n)
	}
}

// TestAuditedChangesRollBackTogether checks, on both databases, that the SEPA ceiling override,
// the reinstatement and the month close start write their audit entry in the transaction of the
// change: an entry that cannot be written undoes the change (see also the invoicing store test
// for decisions and mark-paid).
func TestAuditedChangesRollBackTogether(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := txn.WithRequestID(context.Background(), "req-audit")
		db := storagetest.Open(t, b)
		store := storage.NewSEPA(db)
		newBuyer(t, db, "byr_a", "812345676")
		if _, err := store.EnsureProfile(ctx, "byr_a", 25000, now); err != nil {
			t.Fatal(err)
		}
		changes := func() int {
			t.Helper()
			p, err := store.CeilingChanges(ctx, "byr_a", pageOf(100))
			if err != nil {
				t.Fatal(err)
			}
			return len(p.Items)
		}

		// Override.
		if _, err := store.SetCeiling(ctx, "byr_a", 50000, sepa.CeilingChangeManual, "guarantee", now, &brokenAudit); err == nil {
			t.Fatal("SetCeiling with a broken audit entry succeeded")
		}
		if p, _ := store.EnsureProfile(ctx, "byr_a", 25000, now); p.Ceiling != 25000 || changes() != 1 {
			t.Fatalf("after a failed audit: ceiling %d, %d changes; want 25000 and the initial one", p.Ceiling, changes())
		}
		if _, err := store.SetCeiling(ctx, "byr_a", 50000, sepa.CeilingChangeManual, "guarantee", now, auditEntry("sepa.ceiling_override", "byr_a")); err != nil {
			t.Fatal(err)
		}
		expectAuditRows(t, db, "sepa.ceiling_override", "byr_a", 1)
		var before, after, rid string
		if err := db.SQL().QueryRowContext(ctx, "SELECT before, after, request_id FROM audit_events WHERE action = 'sepa.ceiling_override'").
			Scan(&before, &after, &rid); err != nil || rid != "req-audit" {
			t.Fatalf("override entry: request %q, %v", rid, err)
		}
		before, after = strings.ReplaceAll(before, " ", ""), strings.ReplaceAll(after, " ", "") // jsonb spaces its output
		if !contains(before, `"Ceiling":25000`, `"ceiling":25000`) || !contains(after, `"Ceiling":50000`, `"ceiling":50000`) {
			t.Errorf("override entry before %s after %s", before, after)
		}

		// Reinstatement.
		if _, err := store.Suspend(ctx, "byr_a", "unpaid", now); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Reinstate(ctx, "byr_a", 25000, now, &brokenAudit); err == nil {
			t.Fatal("Reinstate with a broken audit entry succeeded")
		}
		if p, _ := store.EnsureProfile(ctx, "byr_a", 25000, now); !p.Suspended || p.Ceiling != 50000 {
			t.Fatalf("after a failed audit: %+v, want still suspended at 50000", p)
		}
		if _, err := store.Reinstate(ctx, "byr_a", 25000, now, auditEntry("sepa.reinstatement", "byr_a")); err != nil {
			t.Fatal(err)
		}
		expectAuditRows(t, db, "sepa.reinstatement", "byr_a", 1)

		// Month close start: neither the close nor its job without the entry.
		closes := storage.NewMonthCloses(db)
		c := monthclose.MonthClose{Month: "2026-11", Status: monthclose.StatusRunning, StartedAt: now}
		create := func(audit txn.AuditEntry) error {
			return closes.InTx(ctx, func(tx monthclose.Tx) error {
				if err := tx.CreateClose(ctx, c); err != nil {
					return err
				}
				return tx.Audit(ctx, audit)
			})
		}
		if err := create(brokenAudit); err == nil {
			t.Fatal("a close with a broken audit entry committed")
		}
		if _, err := closes.MonthClose(ctx, "2026-11"); !errors.Is(err, monthclose.ErrNotFound) {
			t.Fatalf("close after a failed audit: %v, want ErrNotFound", err)
		}
		if err := create(*auditEntry("month_close.start", "2026-11")); err != nil {
			t.Fatal(err)
		}
		expectAuditRows(t, db, "month_close.start", "2026-11", 1)
		if err := create(*auditEntry("month_close.start", "2026-11")); !errors.Is(err, monthclose.ErrExists) {
			t.Fatalf("second close = %v, want ErrExists", err)
		}
		expectAuditRows(t, db, "month_close.start", "2026-11", 1)
	})
}

// contains reports whether s holds one of subs.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
