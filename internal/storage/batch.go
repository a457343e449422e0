package storage

import (
	"context"
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
	ScoredValue      *int
	ScoredAt         *time.Time
	LatestOutcome    *string
	LatestAt         *time.Time
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
			(SELECT sc.value FROM score_checks sc WHERE sc.id = k.scored_id) AS scored_value,
			(SELECT sc.checked_at FROM score_checks sc WHERE sc.id = k.scored_id) AS scored_at,
			(SELECT lc.outcome FROM score_checks lc WHERE lc.id = k.latest_id) AS latest_outcome,
			(SELECT lc.checked_at FROM score_checks lc WHERE lc.id = k.latest_id) AS latest_at,
			COALESCE((SELECT o.outstanding FROM sepa_outstanding o WHERE o.buyer_id = p.buyer_id AND o.month = ?), 0) AS outstanding,
			(SELECT COUNT(*) FROM sepa_collections c WHERE c.buyer_id = p.buyer_id AND c.status = 'retrying') AS retrying
		FROM (SELECT p0.buyer_id AS bid,
				(SELECT s.id FROM score_checks s WHERE s.buyer_id = p0.buyer_id AND s.outcome = ?
					ORDER BY s.checked_at DESC, s.id DESC LIMIT 1) AS scored_id,
				(SELECT s.id FROM score_checks s WHERE s.buyer_id = p0.buyer_id ORDER BY s.checked_at DESC, s.id DESC LIMIT 1) AS latest_id
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
		// As ScoreState: the latest successful check, and the latest attempt when it found the
		// partner unavailable.
		if r.ScoredValue != nil && r.ScoredAt != nil {
			f.Score.Latest = &sepa.Score{Value: *r.ScoredValue, CheckedAt: r.ScoredAt.UTC()}
		}
		if r.LatestOutcome != nil && *r.LatestOutcome == string(sepa.ScoreUnavailable) && r.LatestAt != nil {
			f.Score.UnavailableAt = r.LatestAt.UTC()
		}
		out[r.BuyerID] = f
	}
	return out, nil
}

// sepaStandings is sepaStanding for many buyers, set-based: the buyers without a profile (or
// every buyer without SetSEPAStanding) are absent.
func (u *unit) sepaStandings(ctx context.Context, buyerIDs []string, at time.Time) (map[string]sepa.Eligibility, error) {
	out := map[string]sepa.Eligibility{}
	if u.db.standing == nil || len(buyerIDs) == 0 {
		return out, nil
	}
	month := clock.MonthOf(at)
	facts, err := SEPA{db: u.g, root: u.db}.factsMany(ctx, buyerIDs, month)
	if err != nil {
		return nil, err
	}
	for b, f := range facts {
		out[b] = u.db.standing(b, month, f, at)
	}
	return out, nil
}

// withSEPAEventsMany is withSEPAEvents for a change to many buyers at once: the standings are
// read set-based before and after fn, and each buyer's events are emitted as withSEPAEvents
// emits them, in the order of buyerIDs.
func (u *unit) withSEPAEventsMany(ctx context.Context, buyerIDs []string, at time.Time, fn func() error) error {
	before, err := u.sepaStandings(ctx, buyerIDs, at)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, err := u.sepaStandings(ctx, buyerIDs, at)
	if err != nil {
		return err
	}
	var events []txn.Event
	for _, b := range buyerIDs {
		a, has := after[b]
		if !has {
			continue
		}
		bf, had := before[b]
		if !had {
			bf = sepa.Eligibility{Reasons: []string{"none"}, Ceiling: a.Ceiling}
		}
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

// emitCollections emits a typ event for each collection of ids, as emitCollection does (each
// with the collection as its GET answers it after the unit's writes), reading them set-based.
func (u *unit) emitCollections(ctx context.Context, typ string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	s := Collections{db: u.g, dialect: u.db.dialect, owner: u.db}
	var rows []collectionRow
	if err := u.g.WithContext(ctx).Where("id IN ?", ids).Order("id").Find(&rows).Error; err != nil {
		return err
	}
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
