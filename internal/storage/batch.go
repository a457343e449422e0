package storage

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
)

// The set-based helpers of the month close's batches: many events in one insert, many buyers'
// SEPA facts in one read, and the SEPA events of a change to many buyers.

// emitRowsPerInsert bounds the rows of one multi-row insert of events (6 parameters each).
const emitRowsPerInsert = 500

// emitMany emits events as Emit does, with one insert per emitRowsPerInsert events.
func (u *unit) emitMany(ctx context.Context, events []txn.Event) error {
	for len(events) > 0 {
		n := min(len(events), emitRowsPerInsert)
		if err := u.emitChunk(ctx, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (u *unit) emitChunk(ctx context.Context, events []txn.Event) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO events (id, type, buyer_id, center_id, data, created_at) VALUES `)
	args := make([]any, 0, 6*len(events))
	ids := make([]string, len(events))
	for i, e := range events {
		eventID, data, err := u.db.eventRow(e)
		if err != nil {
			return err
		}
		ids[i] = eventID
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, ids[i], e.Type, nullable(e.BuyerID), nullable(e.CenterID), string(data), utc(e.At))
	}
	if err := u.g.WithContext(ctx).Exec(q.String(), args...).Error; err != nil {
		return err
	}
	if u.db.eventJob != nil {
		for i, e := range events {
			u.noteEvents(e.At, ids[i]) // their outbox row is written before the commit
		}
	}
	return nil
}

// factsRow is one buyer's sepa.Facts as factsMany reads them.
type factsRow struct {
	BuyerID          string
	Ceiling          int64
	Suspended        bool
	SuspendedReason  string
	SuspendedAt      *time.Time
	ProbationStart   *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	HasBankAccount   int64
	DefaultMandateID *string
	Score            scoreColumns `gorm:"embedded"`
	Outstanding      int64
	Retrying         int64
}

// factsMany reads, in one statement, what SEPA.Facts reads of each buyer, for month; a buyer
// without a SEPA profile is absent from the answer (SEPA.Facts: sepa.ErrNotFound). The latest
// checks' ids are picked per buyer first (k), then their columns read by id in scalar
// subqueries: joined on the subquery itself, or even joined by id, PostgreSQL hashes the whole
// score_checks table twice per call (a cost per batch growing with the table: 300 ms for 1,000
// buyers at 100,000 checks, most of the month close's refresh_scores). The buyers are a VALUES
// list joined to their profiles: as "buyer_id IN (…)", PostgreSQL scanned every profile and
// compared each with the 1,000 ids one by one (750 ms per batch at 100,000 profiles).
func (s SEPA) factsMany(ctx context.Context, buyerIDs []string, month string) (map[string]sepa.Facts, error) {
	out := make(map[string]sepa.Facts, len(buyerIDs))
	if len(buyerIDs) == 0 {
		return out, nil
	}
	var rows []factsRow
	err := s.db.WithContext(ctx).Raw(`SELECT p.buyer_id, p.ceiling, p.suspended, p.suspended_reason, p.suspended_at, p.probation_start,
			p.created_at, p.updated_at,
			(SELECT COUNT(*) FROM bank_accounts a WHERE a.buyer_id = p.buyer_id AND a.status = 'active') AS has_bank_account,
			(SELECT m.id FROM mandates m JOIN bank_accounts a ON a.id = m.bank_account_id
				WHERE a.buyer_id = p.buyer_id AND a.is_default = ? AND a.status = 'active' AND m.status IN ?
				ORDER BY m.id DESC LIMIT 1) AS default_mandate_id,
			`+scoreColumnsSQL+`,
			COALESCE((SELECT o.outstanding FROM sepa_outstanding o WHERE o.buyer_id = p.buyer_id AND o.month = ?), 0) AS outstanding,
			(SELECT COUNT(*) FROM sepa_collections c WHERE c.buyer_id = p.buyer_id AND c.status = 'retrying') AS retrying
		FROM (SELECT p0.buyer_id AS bid, `+scoreKeysSQL+`
			FROM (VALUES `+valuesRows(len(buyerIDs), "text")+`) AS b JOIN sepa_profiles p0 ON p0.buyer_id = b.column1) AS k
		JOIN sepa_profiles p ON p.buyer_id = k.bid`,
		append([]any{true, []string{string(sepa.MandateSubmitted), string(sepa.MandateActive)}, month, string(sepa.ScoreScored)},
			anySlice(buyerIDs)...)...).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		f := sepa.Facts{
			Profile: toProfile(sepaProfileRow{BuyerID: r.BuyerID, Ceiling: r.Ceiling, Suspended: r.Suspended, SuspendedReason: r.SuspendedReason,
				SuspendedAt: r.SuspendedAt, ProbationStart: r.ProbationStart, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}),
			HasBankAccount: r.HasBankAccount > 0, DefaultMandateID: deref(r.DefaultMandateID),
			Outstanding: r.Outstanding, Retrying: r.Retrying > 0,
		}
		f.Score = scoreStateOf(r.Score)
		out[r.BuyerID] = f
	}
	return out, nil
}

// scoreColumns are a buyer's latest successful score check and latest check, as factsMany and
// scoresMany read them.
type scoreColumns struct {
	ScoredValue   *int
	ScoredAt      *time.Time
	LatestOutcome *string
	LatestAt      *time.Time
}

// scoreStateOf is, as ScoreState, the latest successful check, and the latest attempt when it
// found the partner unavailable.
func scoreStateOf(c scoreColumns) sepa.ScoreState {
	var st sepa.ScoreState
	if c.ScoredValue != nil && c.ScoredAt != nil {
		st.Latest = &sepa.Score{Value: *c.ScoredValue, CheckedAt: c.ScoredAt.UTC()}
	}
	if c.LatestOutcome != nil && *c.LatestOutcome == string(sepa.ScoreUnavailable) && c.LatestAt != nil {
		st.UnavailableAt = c.LatestAt.UTC()
	}
	return st
}

// scoreKeysSQL picks, for each buyer of the VALUES list b (column1), the ids of its latest
// successful check (scored_id, the parameter is sepa.ScoreScored) and latest check (latest_id).
const scoreKeysSQL = `(SELECT s.id FROM score_checks s WHERE s.buyer_id = b.column1 AND s.outcome = ?
					ORDER BY s.checked_at DESC, s.id DESC LIMIT 1) AS scored_id,
				(SELECT s.id FROM score_checks s WHERE s.buyer_id = b.column1 ORDER BY s.checked_at DESC, s.id DESC LIMIT 1) AS latest_id`

// scoreColumnsSQL reads the columns of scoreColumns by the ids of k (scoreKeysSQL).
const scoreColumnsSQL = `(SELECT sc.value FROM score_checks sc WHERE sc.id = k.scored_id) AS scored_value,
			(SELECT sc.checked_at FROM score_checks sc WHERE sc.id = k.scored_id) AS scored_at,
			(SELECT lc.outcome FROM score_checks lc WHERE lc.id = k.latest_id) AS latest_outcome,
			(SELECT lc.checked_at FROM score_checks lc WHERE lc.id = k.latest_id) AS latest_at`

// scoresMany reads the score state of each buyer (as factsMany does, and nothing else), in one
// statement.
func (s SEPA) scoresMany(ctx context.Context, buyerIDs []string) (map[string]sepa.ScoreState, error) {
	out := make(map[string]sepa.ScoreState, len(buyerIDs))
	if len(buyerIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		BuyerID string
		Score   scoreColumns `gorm:"embedded"`
	}
	err := s.db.WithContext(ctx).Raw(`SELECT k.bid AS buyer_id, `+scoreColumnsSQL+`
		FROM (SELECT b.column1 AS bid, `+scoreKeysSQL+`
			FROM (VALUES `+valuesRows(len(buyerIDs), "text")+`) AS b) AS k`,
		append([]any{string(sepa.ScoreScored)}, anySlice(buyerIDs)...)...).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.BuyerID] = scoreStateOf(r.Score)
	}
	return out, nil
}

// sepaFacts is factsMany in u for the month of at; nil without SetSEPAStanding.
func (u *unit) sepaFacts(ctx context.Context, buyerIDs []string, at time.Time) (map[string]sepa.Facts, error) {
	if u.db.standing == nil || len(buyerIDs) == 0 {
		return nil, nil
	}
	return SEPA{db: u.g, root: u.db}.factsMany(ctx, buyerIDs, clock.MonthOf(at))
}

// withSEPAScoreEventsMany is withSEPAEvents for new score checks of many buyers (fn writes score
// checks and nothing else that a standing reads): the buyers' facts are read set-based before fn,
// only their scores after it (the rest is unchanged), and each buyer's events are emitted as
// withSEPAEvents emits them, in the order of buyerIDs. The buyers without a profile (or every
// buyer without SetSEPAStanding) get none.
func (u *unit) withSEPAScoreEventsMany(ctx context.Context, buyerIDs []string, at time.Time, fn func() error) error {
	facts, err := u.sepaFacts(ctx, buyerIDs, at)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	if len(facts) == 0 {
		return nil
	}
	scores, err := SEPA{db: u.g, root: u.db}.scoresMany(ctx, slices.Collect(maps.Keys(facts)))
	if err != nil {
		return err
	}
	month := clock.MonthOf(at)
	var events []txn.Event
	for _, b := range buyerIDs {
		f, has := facts[b]
		if !has {
			continue
		}
		bf := u.db.standing(b, month, f, at)
		f.Score = scores[b]
		a := u.db.standing(b, month, f, at)
		ev := func(typ string) { events = append(events, txn.Event{Type: typ, BuyerID: b, Object: a, At: at}) }
		switch {
		case !bf.Enabled() && a.Enabled():
			ev("sepa.enabled")
		case bf.Enabled() && !a.Enabled():
			ev("sepa.disabled")
		}
		if bf.Ceiling != a.Ceiling {
			ev("sepa.ceiling_changed")
		}
	}
	return u.emitMany(ctx, events)
}

// chunk calls fn with consecutive pieces of items of at most n.
func chunk[T any](items []T, n int, fn func([]T) error) error {
	for len(items) > 0 {
		k := min(len(items), n)
		if err := fn(items[:k]); err != nil {
			return err
		}
		items = items[k:]
	}
	return nil
}

// emitCollections emits a typ event for each collection of rows (as the unit's writes left them:
// its UPDATE … RETURNING), as emitCollection does, in id order; the intents of all are read in
// one query.
func (u *unit) emitCollections(ctx context.Context, typ string, rows []collectionRow, at time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b collectionRow) int { return strings.Compare(a.ID, b.ID) })
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	s := Collections{db: u.g, dialect: u.db.dialect, owner: u.db}
	intents, err := s.intentsOf(ctx, ids)
	if err != nil {
		return err
	}
	events := make([]txn.Event, len(rows))
	for i, r := range rows {
		c := toCollection(r, intents[r.ID])
		events[i] = txn.Event{Type: typ, BuyerID: c.BuyerID, Object: c, At: at}
	}
	return u.emitMany(ctx, events)
}

// valuesRows returns n rows of a VALUES list of the given column types, each parameter cast to
// its type ("(CAST(? AS text), CAST(? AS bigint)), (…)"); its columns are column1, column2, …
// on PostgreSQL and SQLite alike. Only text and bigint: SQLite casts other names by affinity
// (a time would become a number).
func valuesRows(n int, types ...string) string {
	var row strings.Builder
	row.WriteString("(")
	for i, t := range types {
		if i > 0 {
			row.WriteString(", ")
		}
		row.WriteString("CAST(? AS " + t + ")")
	}
	row.WriteString(")")
	rows := make([]string, n)
	for i := range rows {
		rows[i] = row.String()
	}
	return strings.Join(rows, ", ")
}

// anySlice is items as arguments of a statement.
func anySlice[T any](items []T) []any {
	out := make([]any, len(items))
	for i, v := range items {
		out[i] = v
	}
	return out
}
