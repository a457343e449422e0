package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// lastSecond is one second before the end of November 2026 in Paris.
var lastSecond = time.Date(2026, 11, 30, 23, 59, 59, 0, clock.Paris())

func pick(t *testing.T, store storage.Payments, gates storage.MonthGates) (time.Time, string) {
	t.Helper()
	return pickWithHint(t, store, gates, lastSecond)
}

// pickWithHint picks a month with hint as this process's reading of the clock.
func pickWithHint(t *testing.T, store storage.Payments, gates storage.MonthGates, hint time.Time) (time.Time, string) {
	t.Helper()
	var at time.Time
	var month string
	_ = gates // set on the database by NewMonthGates: the payment units pick with them
	err := store.InTx(context.Background(), func(tx payments.Tx) error {
		var err error
		at, month, err = tx.PickMonth(context.Background(), hint)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return at, month
}

func startClose(t *testing.T, closes storage.MonthCloses, month string, at time.Time) error {
	t.Helper()
	return closes.InTx(context.Background(), func(tx monthclose.Tx) error {
		return tx.CreateClose(context.Background(), monthclose.MonthClose{Month: month, Status: monthclose.StatusRunning, StartedAt: at})
	})
}

// A payment counts in its clock's month while that month's close has not begun, and in the next
// month whose close has not begun afterwards.
func TestMonthGatesPickTheOpenMonth(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		store, closes := storage.NewPayments(db), storage.NewMonthCloses(db)
		base := clock.NewManual(lastSecond)
		gates := storage.NewMonthGates(db, base, false)

		at, month := pick(t, store, gates)
		if month != "2026-11" || !at.Equal(base.Now()) {
			t.Fatalf("before the close: %s at %s, want 2026-11 at %s", month, at, base.Now())
		}
		if err := startClose(t, closes, "2026-11", base.Now()); err != nil {
			t.Fatal(err)
		}
		if _, month := pick(t, store, gates); month != "2026-12" {
			t.Errorf("after the close of 2026-11 began: %s, want 2026-12", month)
		}
		// A second close start is refused and leaves the gate shut.
		if err := startClose(t, closes, "2026-11", base.Now()); !errors.Is(err, monthclose.ErrExists) {
			t.Errorf("second start: %v, want ErrExists", err)
		}
		// Several months closed behind the clock: the first open one.
		if err := startClose(t, closes, "2026-12", base.Now()); err != nil {
			t.Fatal(err)
		}
		if _, month := pick(t, store, gates); month != "2027-01" {
			t.Errorf("after the closes of 2026-11 and 2026-12 began: %s, want 2027-01", month)
		}
	})
}

// In sandbox mode the payment's instant is the real time plus the test clock's offset as stored
// in the database at that instant, whatever this process's copy of the offset says.
func TestMonthGatesReadTheStoredTestClock(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		store := storage.NewPayments(db)
		base := clock.NewManual(lastSecond)
		gates := storage.NewMonthGates(db, base, true)
		if at, month := pick(t, store, gates); month != "2026-11" || !at.Equal(base.Now()) {
			t.Fatalf("no offset stored: %s at %s", month, at)
		}
		// Another process moves the test clock 2 s ahead.
		if _, err := storage.NewClockOffsets(db).RaiseOffset(context.Background(), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		at, month := pick(t, store, gates)
		if want := base.Now().Add(2 * time.Second); month != "2026-12" || !at.Equal(want) {
			t.Errorf("after the move: %s at %s, want 2026-12 at %s", month, at, want)
		}
		// A process whose copy of the clock lags by months still gets the stored clock's month.
		if _, month := pickWithHint(t, store, gates, lastSecond.AddDate(0, -3, 0)); month != "2026-12" {
			t.Errorf("with a stale hint: %s, want 2026-12", month)
		}
	})
}

// The close's start waits for a payment that holds its month open (PostgreSQL; SQLite runs one
// write transaction at a time), and a payment after the start counts in the next month.
func TestMonthGatesSerialiseThePaymentAndTheClose(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store, closes := storage.NewPayments(db), storage.NewMonthCloses(db)
		base := clock.NewManual(lastSecond)
		gates := storage.NewMonthGates(db, base, false)

		held := make(chan struct{})
		release := make(chan struct{})
		payment := make(chan error, 1)
		go func() {
			payment <- store.InTx(ctx, func(tx payments.Tx) error {
				_, month, err := tx.PickMonth(ctx, lastSecond)
				if err != nil {
					return err
				}
				if month != "2026-11" {
					return errors.New("the payment got " + month)
				}
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		started := make(chan error, 1)
		go func() { started <- startClose(t, closes, "2026-11", base.Now()) }()
		select {
		case err := <-started:
			t.Fatalf("the close started while a payment held its month open: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		close(release)
		if err := <-payment; err != nil {
			t.Fatal(err)
		}
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		if _, month := pick(t, store, gates); month != "2026-12" {
			t.Errorf("after the close began: %s, want 2026-12", month)
		}
	})
}

// What a close left behind is listed and counted only once the step that should have taken it
// has completed: a scheduled SEPA intent without a collection after "collections", an open
// statement after "statements".
func TestMonthClosesStranded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store, closes := storage.NewPayments(db), storage.NewMonthCloses(db)
		o := newOrder(t, db)
		pi := scheduledFor(o) // sepa_debit, scheduled, collection month 2026-12
		if err := store.InTx(ctx, func(tx payments.Tx) error { return tx.InsertIntent(ctx, pi) }); err != nil {
			t.Fatal(err)
		}
		account, statement := id.New(id.InvoicingAccount), id.New(id.Statement)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO invoicing_accounts (id, buyer_id, center_id, status, note, created_at, updated_at) VALUES ($1, $2, $3, 'approved', '', $4, $5)`,
				[]any{account, o.BuyerID, o.CenterID, t0, t0}},
			{`INSERT INTO statements (id, invoicing_account_id, buyer_id, center_id, month, status, total, currency, created_at, updated_at)
				VALUES ($1, $2, $3, $4, '2026-12', 'open', 1200, 'EUR', $5, $6)`, []any{statement, account, o.BuyerID, o.CenterID, t0, t0}},
		} {
			if _, err := db.SQL().ExecContext(ctx, numbered(db, q.sql), q.args...); err != nil {
				t.Fatal(err)
			}
		}
		count := func() (int, int) {
			t.Helper()
			i, s, err := closes.CountStranded(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return i, s
		}
		if i, s := count(); i != 0 || s != 0 {
			t.Fatalf("no close: %d intents, %d statements stranded", i, s)
		}
		if err := startClose(t, closes, "2026-12", t0); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if _, err := closes.Claim(ctx, "2026-12", "run_1", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		complete := func(step string) {
			t.Helper()
			if err := closes.StartStep(ctx, "2026-12", "run_1", step, t0); err != nil {
				t.Fatal(err)
			}
			if err := closes.CompleteStep(ctx, "2026-12", "run_1", step, 0, t0); err != nil {
				t.Fatal(err)
			}
		}
		complete(monthclose.StepCollections)
		if i, s := count(); i != 1 || s != 0 {
			t.Errorf("after collections: %d intents, %d statements stranded, want 1, 0", i, s)
		}
		complete(monthclose.StepStatements)
		got, err := closes.Stranded(ctx, "2026-12")
		if err != nil {
			t.Fatal(err)
		}
		if got.IntentCount != 1 || got.StatementCount != 1 || len(got.Intents) != 1 || got.Intents[0].ID != pi.ID ||
			len(got.Statements) != 1 || got.Statements[0].ID != statement || got.Statements[0].Total != 1200 {
			t.Errorf("stranded = %+v", got)
		}
		if other, err := closes.Stranded(ctx, "2026-11"); err != nil || !other.Empty() {
			t.Errorf("another month: %+v, %v", other, err)
		}
	})
}

// numbered writes $n placeholders as SQLite's ?n on SQLite.
func numbered(db *storage.DB, q string) string {
	if db.Dialect() == storage.Postgres {
		return q
	}
	return strings.ReplaceAll(q, "$", "?")
}

// The one-trip payment's hold on a month's gate (vhupay_month_open, a shared advisory lock) and
// a close's start (shutGate's exclusive one) exclude each other too: the close waits for the
// payment's transaction, and a hold taken while the close starts waits for it, then reads the
// gate shut (its read takes a snapshot after the lock was granted).
func TestMonthGateHeldByOneTripPayments(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		if b != storagetest.Postgres {
			t.Skip("vhupay_month_open is PostgreSQL's (SQLite runs one write transaction at a time)")
		}
		ctx := context.Background()
		db := storagetest.Open(t, b)
		closes := storage.NewMonthCloses(db)
		base := clock.NewManual(lastSecond)
		storage.NewMonthGates(db, base, false)
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO month_gates (month) VALUES ('2026-11')`); err != nil {
			t.Fatal(err)
		}
		holdOpen := func(ctx context.Context) (*sql.Tx, bool) {
			t.Helper()
			tx, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var open bool
			if err := tx.QueryRowContext(ctx, `SELECT vhupay_month_open('2026-11')`).Scan(&open); err != nil {
				t.Fatal(err)
			}
			return tx, open
		}
		payment, open := holdOpen(ctx)
		if !open {
			t.Fatal("the open month reads shut")
		}
		started := make(chan error, 1)
		go func() { started <- startClose(t, closes, "2026-11", base.Now()) }()
		select {
		case err := <-started:
			t.Fatalf("the close started while a one-trip payment held its month open: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		// A second payment arrives while the close waits: it waits behind the close.
		second := make(chan bool, 1)
		go func() {
			tx, open := holdOpen(ctx)
			_ = tx.Rollback()
			second <- open
		}()
		select {
		case <-second:
			t.Fatal("a payment held the gate while a close waited to shut it")
		case <-time.After(300 * time.Millisecond):
		}
		if err := payment.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		if <-second {
			t.Error("after the close began, the month still reads open")
		}
	})
}
