package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/txn"
)

type monthCloseRow struct {
	Month      string `gorm:"primaryKey"`
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	LastError  string
	LeaseOwner string
	LeaseUntil *time.Time
	UpdatedAt  time.Time
}

func (monthCloseRow) TableName() string { return "month_closes" }

type monthCloseStepRow struct {
	Month      string `gorm:"primaryKey"`
	Step       string `gorm:"primaryKey"`
	Position   int
	Completed  bool
	ItemCount  int
	Runs       int
	Checkpoint string
	Done       int
	Total      int
	StartedAt  time.Time
	FinishedAt *time.Time
}

func (monthCloseStepRow) TableName() string { return "month_close_steps" }

// MonthCloses implements monthclose.Store.
type MonthCloses struct {
	db    *gorm.DB
	units txn.Runner[monthclose.Tx]
}

var _ monthclose.Store = MonthCloses{}

// NewMonthCloses returns the month close store.
func NewMonthCloses(db *DB) MonthCloses {
	return MonthCloses{db: db.gorm, units: runner[monthclose.Tx]{db: db, bind: func(u *unit) monthclose.Tx { return monthCloseUnit{u} }}}
}

// monthCloseUnit implements monthclose.Tx.
type monthCloseUnit struct{ *unit }

// InTx implements monthclose.Store.
func (s MonthCloses) InTx(ctx context.Context, fn func(tx monthclose.Tx) error) error {
	return s.units.InTx(ctx, fn)
}

// CreateClose implements monthclose.Tx. In the same unit it shuts the month's gate (see
// MonthGates): it waits for the payments that hold the month open, and no payment counts in the
// month once it has committed.
func (u monthCloseUnit) CreateClose(ctx context.Context, c monthclose.MonthClose) error {
	row := monthCloseRow{Month: c.Month, Status: string(c.Status), StartedAt: utc(c.StartedAt), UpdatedAt: utc(c.StartedAt)}
	tx := u.g.WithContext(ctx)
	if err := shutGate(tx, c.Month, c.StartedAt); err != nil {
		return err
	}
	if err := tx.Create(&row).Error; err != nil {
		if isUnique(err) {
			return monthclose.ErrExists
		}
		return err
	}
	return nil
}

// LockRunning implements monthclose.Tx: the close's row is read FOR SHARE on PostgreSQL, so the
// run that completes it (an UPDATE of that row) waits for this unit to end.
func (u monthCloseUnit) LockRunning(ctx context.Context, month string) (bool, error) {
	q := "SELECT status FROM month_closes WHERE month = $1"
	if isPostgres(u.g) {
		q += " FOR SHARE"
	}
	var status string
	err := conn(u.g.WithContext(ctx)).QueryRowContext(ctx, sqlFor(u.g, q), month).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, monthclose.ErrNotFound
	case err != nil:
		return false, translate(u.g, err)
	}
	return status == string(monthclose.StatusRunning), nil
}

// ReopenClose implements monthclose.Tx.
func (u monthCloseUnit) ReopenClose(ctx context.Context, month string) (bool, error) {
	tx := u.g.WithContext(ctx)
	res := tx.Model(&monthCloseRow{}).Where("month = ? AND status = ?", month, monthclose.StatusFailed).
		Updates(map[string]any{"status": string(monthclose.StatusRunning), "finished_at": nil, "lease_owner": "", "lease_until": nil})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 0 {
		return false, MonthCloses{}.exists(tx, month)
	}
	return true, nil
}

// MonthClose implements monthclose.Store.
func (s MonthCloses) MonthClose(ctx context.Context, month string) (monthclose.MonthClose, error) {
	return s.load(s.db.WithContext(ctx), month)
}

func (s MonthCloses) load(db *gorm.DB, month string) (monthclose.MonthClose, error) {
	var row monthCloseRow
	if err := db.Where("month = ?", month).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return monthclose.MonthClose{}, monthclose.ErrNotFound
		}
		return monthclose.MonthClose{}, err
	}
	var steps []monthCloseStepRow
	if err := db.Where("month = ?", month).Order("position").Find(&steps).Error; err != nil {
		return monthclose.MonthClose{}, err
	}
	return toMonthClose(row, steps), nil
}

func (s MonthCloses) exists(tx *gorm.DB, month string) error {
	var n int64
	if err := tx.Model(&monthCloseRow{}).Where("month = ?", month).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return monthclose.ErrNotFound
	}
	return nil
}

// Claim implements monthclose.Store with one conditional update: the lease goes to owner only
// when the close is running and nobody else holds an unexpired lease.
func (s MonthCloses) Claim(ctx context.Context, month, owner string, now, until time.Time) (monthclose.MonthClose, error) {
	var c monthclose.MonthClose
	err := inTx(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&monthCloseRow{}).
			Where("month = ? AND status = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until IS NULL OR lease_until < ?)",
				month, monthclose.StatusRunning, owner, utc(now)).
			Updates(map[string]any{"lease_owner": owner, "lease_until": utc(until)})
		if res.Error != nil {
			return res.Error
		}
		var err error
		if c, err = s.load(tx, month); err != nil {
			return err
		}
		if res.RowsAffected == 0 && c.Status == monthclose.StatusRunning {
			return monthclose.ErrBusy
		}
		return nil
	})
	return c, err
}

// Release implements monthclose.Store.
func (s MonthCloses) Release(ctx context.Context, month, owner string) error {
	return s.db.WithContext(ctx).Model(&monthCloseRow{}).Where("month = ? AND lease_owner = ?", month, owner).
		Updates(map[string]any{"lease_owner": "", "lease_until": nil}).Error
}

// fenced runs fn in a transaction that first checks, by a conditional update that also locks the
// close's row, that owner still holds the lease of a running close.
func (s MonthCloses) fenced(ctx context.Context, month, owner string, fn func(tx *gorm.DB) error) error {
	return inTx(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&monthCloseRow{}).Where("month = ? AND lease_owner = ? AND status = ?", month, owner, monthclose.StatusRunning).
			Update("lease_owner", owner)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return monthclose.ErrLeaseLost
		}
		return fn(tx)
	})
}

// StartStep implements monthclose.Store.
func (s MonthCloses) StartStep(ctx context.Context, month, owner, step string, at time.Time) error {
	return s.fenced(ctx, month, owner, func(tx *gorm.DB) error {
		res := tx.Model(&monthCloseStepRow{}).Where("month = ? AND step = ? AND NOT completed", month, step).
			Update("runs", gorm.Expr("runs + 1"))
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		var last struct{ Max int }
		if err := tx.Model(&monthCloseStepRow{}).Select("COALESCE(MAX(position), 0) AS max").Where("month = ?", month).Scan(&last).Error; err != nil {
			return err
		}
		return tx.Create(&monthCloseStepRow{Month: month, Step: step, Position: last.Max + 1, Runs: 1, StartedAt: utc(at)}).Error
	})
}

// SaveCheckpoint implements monthclose.Store.
func (s MonthCloses) SaveCheckpoint(ctx context.Context, month, owner, step, checkpoint string) error {
	return s.fenced(ctx, month, owner, func(tx *gorm.DB) error {
		return tx.Model(&monthCloseStepRow{}).Where("month = ? AND step = ? AND NOT completed", month, step).
			Update("checkpoint", checkpoint).Error
	})
}

// ReportProgress implements monthclose.Store.
func (s MonthCloses) ReportProgress(ctx context.Context, month, owner, step string, done, total int) error {
	return s.fenced(ctx, month, owner, func(tx *gorm.DB) error {
		return tx.Model(&monthCloseStepRow{}).Where("month = ? AND step = ? AND NOT completed", month, step).
			Updates(map[string]any{"done": done, "total": total}).Error
	})
}

// CompleteStep implements monthclose.Store.
func (s MonthCloses) CompleteStep(ctx context.Context, month, owner, step string, count int, at time.Time) error {
	return s.fenced(ctx, month, owner, func(tx *gorm.DB) error {
		return tx.Model(&monthCloseStepRow{}).Where("month = ? AND step = ? AND NOT completed", month, step).
			Updates(map[string]any{"completed": true, "item_count": count, "finished_at": utc(at)}).Error
	})
}

// Finish implements monthclose.Store.
func (s MonthCloses) Finish(ctx context.Context, month, owner string, at time.Time) error {
	return s.fenced(ctx, month, owner, func(tx *gorm.DB) error {
		return tx.Model(&monthCloseRow{}).Where("month = ?", month).Updates(map[string]any{
			"status": string(monthclose.StatusCompleted), "finished_at": utc(at), "last_error": "",
			"lease_owner": "", "lease_until": nil, "updated_at": utc(at),
		}).Error
	})
}

// RecordError implements monthclose.Store.
func (s MonthCloses) RecordError(ctx context.Context, month, reason string) error {
	return s.db.WithContext(ctx).Model(&monthCloseRow{}).Where("month = ? AND status = ?", month, monthclose.StatusRunning).
		Update("last_error", truncateText(reason, 2000)).Error
}

// Fail implements monthclose.Store.
func (s MonthCloses) Fail(ctx context.Context, month, reason string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&monthCloseRow{}).Where("month = ? AND status = ?", month, monthclose.StatusRunning).
		Updates(map[string]any{
			"status": string(monthclose.StatusFailed), "finished_at": utc(at), "last_error": truncateText(reason, 2000),
			"lease_owner": "", "lease_until": nil, "updated_at": utc(at),
		}).Error
}

func toMonthClose(r monthCloseRow, steps []monthCloseStepRow) monthclose.MonthClose {
	c := monthclose.MonthClose{Month: r.Month, Status: monthclose.Status(r.Status), StartedAt: r.StartedAt.UTC(),
		FinishedAt: utcPtr(r.FinishedAt), LastError: r.LastError}
	for _, st := range steps {
		c.Steps = append(c.Steps, monthclose.StepRun{Name: st.Step, Completed: st.Completed, Count: st.ItemCount, Runs: st.Runs,
			Checkpoint: st.Checkpoint, Done: st.Done, Total: st.Total, StartedAt: st.StartedAt.UTC(), FinishedAt: utcPtr(st.FinishedAt)})
	}
	return c
}

// strandedIntentsFrom selects the scheduled sepa_debit intents without a collection of the months
// whose collections step has completed.
const strandedIntentsFrom = ` FROM payment_intents i
	JOIN month_close_steps s ON s.month = i.collection_month AND s.step = 'collections' AND s.completed = ?
	WHERE i.method = 'sepa_debit' AND i.status = 'scheduled'
	AND NOT EXISTS (SELECT 1 FROM sepa_collection_intents l WHERE l.intent_id = i.id)`

// openStatementsFrom selects the open statements of the months whose statements step has
// completed.
const openStatementsFrom = ` FROM statements st
	JOIN month_close_steps s ON s.month = st.month AND s.step = 'statements' AND s.completed = ?
	WHERE st.status = 'open'`

// Stranded implements monthclose.StrandedStore.
func (s MonthCloses) Stranded(ctx context.Context, month string) (monthclose.Stranded, error) {
	out := monthclose.Stranded{Month: month, Intents: []monthclose.StrandedIntent{}, Statements: []monthclose.StrandedStatement{}}
	g := s.db.WithContext(ctx)
	var intents []struct {
		ID, OrderID, BuyerID string
		Amount               int64
		CreatedAt            time.Time
	}
	if err := g.Raw(`SELECT i.id, i.order_id, i.buyer_id, i.amount, i.created_at`+strandedIntentsFrom+
		` AND i.collection_month = ? ORDER BY i.created_at, i.id LIMIT ?`, true, month, monthclose.MaxStrandedListed).Scan(&intents).Error; err != nil {
		return out, err
	}
	for _, r := range intents {
		out.Intents = append(out.Intents, monthclose.StrandedIntent{ID: r.ID, OrderID: r.OrderID, BuyerID: r.BuyerID, Amount: r.Amount, CreatedAt: r.CreatedAt.UTC()})
	}
	var statements []struct {
		ID, BuyerID, CenterID string
		Total                 int64
		CreatedAt             time.Time
	}
	if err := g.Raw(`SELECT st.id, st.buyer_id, st.center_id, st.total, st.created_at`+openStatementsFrom+
		` AND st.month = ? ORDER BY st.created_at, st.id LIMIT ?`, true, month, monthclose.MaxStrandedListed).Scan(&statements).Error; err != nil {
		return out, err
	}
	for _, r := range statements {
		out.Statements = append(out.Statements, monthclose.StrandedStatement{ID: r.ID, BuyerID: r.BuyerID, CenterID: r.CenterID, Total: r.Total, CreatedAt: r.CreatedAt.UTC()})
	}
	var err error
	out.IntentCount, out.StatementCount, err = s.countStranded(g, month)
	return out, err
}

// CountStranded implements monthclose.StrandedStore.
func (s MonthCloses) CountStranded(ctx context.Context) (int, int, error) {
	return s.countStranded(s.db.WithContext(ctx), "")
}

// countStranded counts month's stranded intents and open statements, or every month's when
// month is "".
func (s MonthCloses) countStranded(g *gorm.DB, month string) (int, int, error) {
	intentsQ, statementsQ := `SELECT COUNT(*)`+strandedIntentsFrom, `SELECT COUNT(*)`+openStatementsFrom
	intentArgs, statementArgs := []any{true}, []any{true}
	if month != "" {
		intentsQ += ` AND i.collection_month = ?`
		statementsQ += ` AND st.month = ?`
		intentArgs, statementArgs = append(intentArgs, month), append(statementArgs, month)
	}
	var intents, statements int64
	if err := g.Raw(intentsQ, intentArgs...).Scan(&intents).Error; err != nil {
		return 0, 0, err
	}
	if err := g.Raw(statementsQ, statementArgs...).Scan(&statements).Error; err != nil {
		return 0, 0, err
	}
	return int(intents), int(statements), nil
}

// FirstActivity implements monthclose.Store: the creation of the first buyer or centre.
func (s MonthCloses) FirstActivity(ctx context.Context) (time.Time, bool, error) {
	var first time.Time
	found := false
	for _, table := range []string{"buyers", "centers"} {
		var rows []struct{ CreatedAt time.Time }
		if err := s.db.WithContext(ctx).Table(table).Select("created_at").Order("created_at").Limit(1).Find(&rows).Error; err != nil {
			return time.Time{}, false, err
		}
		if len(rows) == 1 && (!found || rows[0].CreatedAt.Before(first)) {
			first, found = rows[0].CreatedAt, true
		}
	}
	return first, found, nil
}
