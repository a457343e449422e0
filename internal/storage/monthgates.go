package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/payments"
)

// MonthGates implements payments.MonthPicker on the month_gates table (see its migration): a
// sepa_debit or vhu_invoice payment counts in month M only while M's gate is open, holding the
// gate's row (FOR SHARE on PostgreSQL) until its transaction ends; the start of M's close shuts
// the gate in the transaction that creates the close (MonthCloses.Create), so it waits for those
// payments, and every later payment counts in the next month whose gate is open. The close's
// steps, which run after that transaction committed, therefore see every payment of M.
type MonthGates struct {
	db      *gorm.DB
	base    clock.Clock
	sandbox bool
}

var _ payments.MonthPicker = MonthGates{}

// NewMonthGates returns the month picker. base is the real clock; in sandbox mode the test
// clock's offset is read from the sandbox_clock row inside each payment's transaction, so that
// every process on the database reads one test clock at that instant (a process's own copy of
// the offset may lag a move made elsewhere by up to its refresh interval).
func NewMonthGates(db *DB, base clock.Clock, sandbox bool) MonthGates {
	if base == nil {
		base = clock.Real{}
	}
	return MonthGates{db: db.gorm, base: base, sandbox: sandbox}
}

// maxGateMonths bounds the months a payment skips when their closes have begun (a test clock
// moved far ahead can leave several months closed behind it).
const maxGateMonths = 24

// PickMonth implements payments.MonthPicker.
func (s MonthGates) PickMonth(ctx context.Context, tx payments.Tx) (time.Time, string, error) {
	g, err := JoinTx(tx)
	if err != nil {
		return time.Time{}, "", err
	}
	at, err := s.now(ctx, g)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("read the clock: %w", err)
	}
	month := clock.MonthOf(at)
	for range maxGateMonths {
		open, err := holdGate(ctx, g, month)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("month gate %s: %w", month, err)
		}
		if open {
			return at, month, nil
		}
		_, end, err := clock.MonthBounds(month)
		if err != nil {
			return time.Time{}, "", err
		}
		month = clock.MonthOf(end)
	}
	return time.Time{}, "", fmt.Errorf("no open month within %d months of %s", maxGateMonths, clock.MonthOf(at))
}

// now reads the clock inside g's transaction: the real time, plus in sandbox mode the test
// clock's offset as stored at that instant.
func (s MonthGates) now(ctx context.Context, g *gorm.DB) (time.Time, error) {
	if !s.sandbox {
		return s.base.Now(), nil
	}
	var offset int64
	err := conn(g).QueryRowContext(ctx, "SELECT offset_ns FROM sandbox_clock WHERE id = 1").Scan(&offset)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, translate(g, err)
	}
	return utc(s.base.Now().Add(time.Duration(offset))), nil
}

// holdGate reports whether month's gate is open, holding its row until the transaction ends (a
// share lock on PostgreSQL, which a close's start must wait for; SQLite runs one write
// transaction at a time). A month without a gate gets an open one.
func holdGate(ctx context.Context, g *gorm.DB, month string) (bool, error) {
	q := "SELECT closed_at IS NULL FROM month_gates WHERE month = $1"
	if isPostgres(g) {
		q += " FOR SHARE"
	}
	q = sqlFor(g, q)
	for attempt := 0; ; attempt++ {
		var open bool
		err := conn(g).QueryRowContext(ctx, q, month).Scan(&open)
		if err == nil {
			return open, nil
		}
		if !errors.Is(err, sql.ErrNoRows) || attempt > 0 {
			return false, translate(g, err)
		}
		// A concurrent insert (a payment, a close's start) makes this one wait for it, then do
		// nothing; the read above then sees the committed row.
		if _, err := conn(g).ExecContext(ctx, sqlFor(g, "INSERT INTO month_gates (month) VALUES ($1) ON CONFLICT (month) DO NOTHING"), month); err != nil {
			return false, translate(g, err)
		}
	}
}

// shutGate closes month's gate at at inside tx (the start of month's close). On PostgreSQL the
// upsert takes the row's lock, so it waits for every payment holding the gate open.
func shutGate(tx *gorm.DB, month string, at time.Time) error {
	return tx.Exec(`INSERT INTO month_gates (month, closed_at) VALUES (?, ?)
		ON CONFLICT (month) DO UPDATE SET closed_at = COALESCE(month_gates.closed_at, excluded.closed_at)`, month, utc(at)).Error
}
