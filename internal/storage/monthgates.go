package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/clock"
)

// MonthGates implements payments.Tx.PickMonth on the month_gates table (see its migration): a
// sepa_debit or vhu_invoice payment counts in month M only while M's gate is open, holding the
// gate's row (FOR SHARE on PostgreSQL) until its transaction ends; the start of M's close shuts
// the gate in the unit that creates the close (monthclose.Tx.CreateClose), so it waits for those
// payments, and every later payment counts in the next month whose gate is open. The close's
// steps, which run after that transaction committed, therefore see every payment of M.
type MonthGates struct {
	base    clock.Clock
	sandbox bool
}

// NewMonthGates sets the month gates that db's payment units pick months with
// (payments.Tx.PickMonth; without them a unit picks none, for unit tests) and returns them. base is the real clock; in sandbox mode the test
// clock's offset is read from the sandbox_clock row inside each payment's transaction, so that
// every process on the database reads one test clock at that instant (a process's own copy of
// the offset may lag a move made elsewhere by up to its refresh interval).
func NewMonthGates(db *DB, base clock.Clock, sandbox bool) MonthGates {
	if base == nil {
		base = clock.Real{}
	}
	g := MonthGates{base: base, sandbox: sandbox}
	db.gates = &g
	return g
}

// PickMonth implements payments.Tx with db's month gates (see NewMonthGates); "" without them.
func (u paymentsUnit) PickMonth(ctx context.Context, hint time.Time) (time.Time, string, error) {
	if u.db.gates == nil {
		return time.Time{}, "", nil
	}
	return u.db.gates.pick(ctx, u.g, hint)
}

// maxGateMonths bounds the months a payment skips when their closes have begun (a test clock
// moved far ahead can leave several months closed behind it).
const maxGateMonths = 24

// pick picks the month of a payment in g's transaction. The common case is one statement: the test clock's
// offset and the gates of hint's month and the next, share-locked (the instant read in the
// transaction is at most a test-clock refresh ahead of hint). A month without a gate yet, or an
// instant beyond those two months, takes the general path: the offset, then the gates month by
// month.
func (s MonthGates) pick(ctx context.Context, g *gorm.DB, hint time.Time) (time.Time, string, error) {
	first := clock.MonthOf(hint)
	second, err := nextMonth(first)
	if err != nil {
		return time.Time{}, "", err
	}
	offset, open, err := gatesAndOffset(ctx, g, first, second)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("month gates %s, %s: %w", first, second, err)
	}
	if len(open) == 0 { // no gate row read, hence no offset either
		if offset, err = readOffset(ctx, g); err != nil {
			return time.Time{}, "", fmt.Errorf("read the test clock: %w", err)
		}
	}
	at := s.now(offset)
	month := clock.MonthOf(at)
	if isOpen, ok := open[month]; ok && isOpen {
		return at, month, nil
	}
	for range maxGateMonths {
		open, err := holdGate(ctx, g, month)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("month gate %s: %w", month, err)
		}
		if open {
			return at, month, nil
		}
		if month, err = nextMonth(month); err != nil {
			return time.Time{}, "", err
		}
	}
	return time.Time{}, "", fmt.Errorf("no open month within %d months of %s", maxGateMonths, clock.MonthOf(at))
}

// now is the instant of a payment: the real time, plus in sandbox mode the test clock's offset as
// read inside the payment's transaction.
func (s MonthGates) now(offset time.Duration) time.Time {
	if !s.sandbox {
		return s.base.Now()
	}
	return utc(s.base.Now().Add(offset))
}

func nextMonth(month string) (string, error) {
	_, end, err := clock.MonthBounds(month)
	if err != nil {
		return "", err
	}
	return clock.MonthOf(end), nil
}

// gatesSQL reads the test clock's offset with the gates of two months, share-locked on
// PostgreSQL (FOR SHARE OF g locks month_gates' rows only; the offset is a plain read).
const gatesSQL = `SELECT COALESCE((SELECT offset_ns FROM sandbox_clock WHERE id = 1), 0), g.month, g.closed_at IS NULL
	FROM month_gates g WHERE g.month IN ($1, $2)`

// gatesAndOffset runs gatesSQL: the offset (0 when no gate row was read) and whether each month
// read is open.
func gatesAndOffset(ctx context.Context, g *gorm.DB, first, second string) (time.Duration, map[string]bool, error) {
	q := gatesSQL
	if isPostgres(g) {
		q += " FOR SHARE OF g"
	}
	rows, err := conn(g).QueryContext(ctx, sqlFor(g, q), first, second)
	if err != nil {
		return 0, nil, translate(g, err)
	}
	defer rows.Close()
	var offset int64
	open := map[string]bool{}
	for rows.Next() {
		var month string
		var isOpen bool
		if err := rows.Scan(&offset, &month, &isOpen); err != nil {
			return 0, nil, err
		}
		open[month] = isOpen
	}
	return time.Duration(offset), open, translate(g, rows.Err())
}

// readOffset reads the test clock's stored offset (0 when none).
func readOffset(ctx context.Context, g *gorm.DB) (time.Duration, error) {
	var offset int64
	err := conn(g).QueryRowContext(ctx, "SELECT offset_ns FROM sandbox_clock WHERE id = 1").Scan(&offset)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, translate(g, err)
	}
	return time.Duration(offset), nil
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
// upsert takes the row's lock, so it waits for every payment of the general path holding the
// gate open (a share lock of the row), after the exclusive advisory lock of the month's gate,
// which waits for every one-trip payment holding it (vhupay_month_open's shared lock).
func shutGate(tx *gorm.DB, month string, at time.Time) error {
	if isPostgres(tx) {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended('vhupay.month_gate:' || ?, 0))`, month).Error; err != nil {
			return err
		}
	}
	return tx.Exec(`INSERT INTO month_gates (month, closed_at) VALUES (?, ?)
		ON CONFLICT (month) DO UPDATE SET closed_at = COALESCE(month_gates.closed_at, excluded.closed_at)`, month, utc(at)).Error
}
