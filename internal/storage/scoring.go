package storage

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	scoringsandbox "github.com/vhupay/vhupay/internal/scoring/sandbox"
	"github.com/vhupay/vhupay/internal/sepa"
)

type scoreCheckRow struct {
	ID          string
	BuyerID     string
	Outcome     string
	Value       *int
	RequestedBy string
	CheckedAt   time.Time
}

func (scoreCheckRow) TableName() string { return "score_checks" }

// AddScoreCheck implements sepa.Store.
func (s SEPA) AddScoreCheck(ctx context.Context, c sepa.ScoreCheck) error {
	row := scoreCheckRow{ID: c.ID, BuyerID: c.BuyerID, Outcome: string(c.Outcome), RequestedBy: c.RequestedBy, CheckedAt: utc(c.CheckedAt)}
	if c.Outcome == sepa.ScoreScored {
		v := c.Value
		row.Value = &v
	}
	// A check can enable or disable the buyer's SEPA (its score's freshness and value).
	return s.inSEPAUnit(ctx, c.BuyerID, c.CheckedAt, func(tx *gorm.DB) error { return tx.Create(&row).Error })
}

// ScoreState implements sepa.Store: the latest successful check, and the time of the latest
// attempt when that attempt found the partner unavailable.
func (s SEPA) ScoreState(ctx context.Context, buyerID string) (sepa.ScoreState, error) {
	q := s.db.WithContext(ctx)
	var state sepa.ScoreState
	var scored []scoreCheckRow
	if err := q.Where("buyer_id = ? AND outcome = ?", buyerID, string(sepa.ScoreScored)).
		Order("checked_at DESC, id DESC").Limit(1).Find(&scored).Error; err != nil {
		return state, err
	}
	if len(scored) == 1 && scored[0].Value != nil {
		state.Latest = &sepa.Score{Value: *scored[0].Value, CheckedAt: scored[0].CheckedAt.UTC()}
	}
	var latest []scoreCheckRow
	if err := q.Where("buyer_id = ?", buyerID).Order("checked_at DESC, id DESC").Limit(1).Find(&latest).Error; err != nil {
		return state, err
	}
	if len(latest) == 1 && latest[0].Outcome == string(sepa.ScoreUnavailable) {
		state.UnavailableAt = latest[0].CheckedAt.UTC()
	}
	return state, nil
}

type sandboxScoreRow struct {
	SIREN       string `gorm:"column:siren;primaryKey"`
	Value       *int
	Unavailable bool
	UpdatedAt   time.Time
}

func (sandboxScoreRow) TableName() string { return "sandbox_scores" }

// answer is the partner's answer this row sets.
func (r sandboxScoreRow) answer() scoringsandbox.Answer {
	a := scoringsandbox.Answer{Unavailable: r.Unavailable}
	if r.Value != nil {
		a.Value = *r.Value
	}
	return a
}

// SandboxScores implements the sandbox score partner's store.
type SandboxScores struct{ db *gorm.DB }

var _ scoringsandbox.Store = SandboxScores{}

// NewSandboxScores returns the sandbox score partner's store.
func NewSandboxScores(db *DB) SandboxScores { return SandboxScores{db: db.gorm} }

// SandboxScore implements scoringsandbox.Store.
func (s SandboxScores) SandboxScore(ctx context.Context, siren string) (scoringsandbox.Answer, bool, error) {
	var rows []sandboxScoreRow
	if err := s.db.WithContext(ctx).Where("siren = ?", siren).Find(&rows).Error; err != nil {
		return scoringsandbox.Answer{}, false, err
	}
	if len(rows) == 0 {
		return scoringsandbox.Answer{}, false, nil
	}
	return rows[0].answer(), true, nil
}

// SandboxScoresOf implements scoringsandbox.Store: one read per 1,000 SIRENs.
func (s SandboxScores) SandboxScoresOf(ctx context.Context, sirens []string) (map[string]scoringsandbox.Answer, error) {
	out := map[string]scoringsandbox.Answer{}
	err := chunk(sirens, sandboxIDsPerRead, func(part []string) error {
		var rows []sandboxScoreRow
		if err := s.db.WithContext(ctx).Where("siren IN ?", part).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out[r.SIREN] = r.answer()
		}
		return nil
	})
	return out, err
}

// SetSandboxScore implements scoringsandbox.Store with one upsert.
func (s SandboxScores) SetSandboxScore(ctx context.Context, siren string, a scoringsandbox.Answer) error {
	row := sandboxScoreRow{SIREN: siren, Unavailable: a.Unavailable, UpdatedAt: utc(time.Now())}
	if !a.Unavailable {
		v := a.Value
		row.Value = &v
	}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "siren"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "unavailable", "updated_at"}),
	}).Create(&row).Error
}

// AddScoreChecks implements sepa.Store: one insert of the checks, in one unit with the events
// of the buyers whose SEPA they enable or disable (read set-based before and after).
func (s SEPA) AddScoreChecks(ctx context.Context, checks []sepa.ScoreCheck) error {
	if len(checks) == 0 {
		return nil
	}
	rows := make([]scoreCheckRow, len(checks))
	buyers := make([]string, len(checks))
	at := checks[0].CheckedAt
	for i, c := range checks {
		rows[i] = scoreCheckRow{ID: c.ID, BuyerID: c.BuyerID, Outcome: string(c.Outcome), RequestedBy: c.RequestedBy, CheckedAt: utc(c.CheckedAt)}
		if c.Outcome == sepa.ScoreScored {
			v := c.Value
			rows[i].Value = &v
		}
		buyers[i] = c.BuyerID
		if c.CheckedAt.After(at) {
			at = c.CheckedAt
		}
	}
	return s.root.inUnit(ctx, func(u *unit) error {
		return u.withSEPAScoreEventsMany(ctx, buyers, at, func() error {
			return u.g.WithContext(ctx).CreateInBatches(&rows, emitRowsPerInsert).Error
		})
	})
}
