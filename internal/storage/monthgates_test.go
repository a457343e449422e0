package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// lastSecond is one second before the end of November 2026 in Paris.
var lastSecond = time.Date(2026, 11, 30, 23, 59, 59, 0, clock.Paris())

func pick(t *testing.T, store storage.Payments, gates storage.MonthGates) (time.Time, string) {
	t.Helper()
	var at time.Time
	var month string
	err := store.InTx(context.Background(), func(tx payments.TxStore) error {
		var err error
		at, month, err = gates.PickMonth(context.Background(), tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return at, month
}

func startClose(t *testing.T, closes storage.MonthCloses, month string, at time.Time) error {
	t.Helper()
	return closes.Create(context.Background(), monthclose.MonthClose{Month: month, Status: monthclose.StatusRunning, StartedAt: at},
		func(*sql.Tx) error { return nil })
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
			payment <- store.InTx(ctx, func(tx payments.TxStore) error {
				_, month, err := gates.PickMonth(ctx, tx)
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
