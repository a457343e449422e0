package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/txn"
)

// unit is the one unit of work of storage: a database transaction that implements txn.Tx and,
// through the storage types bound to it, every capability's own unit interface. Runners hand it
// to business code typed as that interface (see runner), so that nothing is unwrapped at run time.
type unit struct {
	g  *gorm.DB // the open transaction
	db *DB
	// eventIDs are the events emitted so far, whose outbox row is written just before the
	// commit (see flushOutbox); eventAt is the latest of their times.
	eventIDs []string
	eventAt  time.Time
	// outbox is whether the unit wrote an outbox row (the dispatcher is woken once it commits).
	outbox bool
}

var _ txn.Tx = (*unit)(nil)

// inUnit runs fn in one database transaction: committed when fn returns nil, rolled back (and
// fn's error returned) otherwise.
func (db *DB) inUnit(ctx context.Context, fn func(u *unit) error) error {
	wrote := false
	err := db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		u := &unit{g: db.hooked(ctx, g), db: db}
		if err := fn(u); err != nil {
			return err
		}
		if err := u.flushOutbox(ctx); err != nil {
			return err
		}
		wrote = u.outbox
		return db.callHook(ctx, "COMMIT")
	})
	if err != nil {
		return err
	}
	if wrote {
		db.outboxCommitted()
	}
	return db.callHook(ctx, "COMMITTED")
}

// runner is a txn.Runner of a capability's unit type T; bind is a static conversion of the unit
// to T, checked by the compiler.
type runner[T any] struct {
	db   *DB
	bind func(*unit) T
}

// InTx implements txn.Runner.
func (r runner[T]) InTx(ctx context.Context, fn func(tx T) error) error {
	return r.db.inUnit(ctx, func(u *unit) error { return fn(r.bind(u)) })
}

// Units runs units of work that need only what every unit offers (events, ledger, audit).
func (db *DB) Units() txn.Runner[txn.Tx] {
	return runner[txn.Tx]{db: db, bind: func(u *unit) txn.Tx { return u }}
}

// SetRenderer sets how events' objects and audit entries' before and after are rendered (the
// resources as the API answers them). Call it once, before the database is used; the default is
// encoding/json of the domain value.
func (db *DB) SetRenderer(r txn.Renderer) { db.render = r }

func (db *DB) renderJSON(v any) ([]byte, error) {
	if db.render != nil {
		return db.render(v)
	}
	return json.Marshal(v)
}

// Enqueuer inserts jobs inside a database transaction (the job queue).
type Enqueuer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, job txn.Job) error
}

// SetEnqueuer sets the job queue that units enqueue jobs on. Call it once, before units enqueue.
func (db *DB) SetEnqueuer(e Enqueuer) { db.enqueuer = e }

// ManyEnqueuer is an Enqueuer that inserts several jobs in one statement.
type ManyEnqueuer interface {
	EnqueueManyTx(ctx context.Context, tx *sql.Tx, jobs []txn.Job) error
}

// eventJobBatch is how many events one fan-out job carries at most.
const eventJobBatch = 100

// eventJobs are the fan-out jobs of events: one per eventJobBatch events.
func (db *DB) eventJobs(eventIDs []string) []txn.Job {
	var jobs []txn.Job
	for chunk := range slices.Chunk(eventIDs, eventJobBatch) {
		jobs = append(jobs, db.eventJob(chunk...))
	}
	return jobs
}

// EnqueueAll enqueues jobs as Enqueue does, in one insert when the job queue can.
func (u *unit) EnqueueAll(ctx context.Context, jobs []txn.Job) error {
	many, ok := u.db.enqueuer.(ManyEnqueuer)
	if len(jobs) < 2 || !ok {
		for _, j := range jobs {
			if err := u.Enqueue(ctx, j); err != nil {
				return err
			}
		}
		return nil
	}
	if err := u.db.callHook(ctx, fmt.Sprintf("ENQUEUE %d %s", len(jobs), jobs[0].Kind())); err != nil {
		return err
	}
	return withSQLTx(u.g, func(tx *sql.Tx) error { return many.EnqueueManyTx(ctx, tx, jobs) })
}

// Enqueue implements txn.Tx.
func (u *unit) Enqueue(ctx context.Context, job txn.Job) error {
	if u.db.enqueuer == nil {
		return fmt.Errorf("enqueue %s: no job queue is set", job.Kind())
	}
	if err := u.db.callHook(ctx, "ENQUEUE "+job.Kind()); err != nil {
		return err
	}
	return withSQLTx(u.g, func(tx *sql.Tx) error { return u.db.enqueuer.EnqueueTx(ctx, tx, job) })
}

// Emit implements txn.Tx.
func (u *unit) Emit(ctx context.Context, e txn.Event) error {
	eventID, data, err := u.db.eventRow(e)
	if err != nil {
		return err
	}
	if err := u.g.WithContext(ctx).Exec(`INSERT INTO events (id, type, buyer_id, center_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		eventID, e.Type, nullable(e.BuyerID), nullable(e.CenterID), string(data), utc(e.At)).Error; err != nil {
		return err
	}
	if u.db.eventJob != nil {
		u.noteEvents(e.At, eventID) // its outbox row is written before the commit
	}
	return nil
}

// SetEventJob sets the job that fans out the events units of work emit (the webhooks'), so that
// they are delivered exactly when their unit commits: the unit writes one event outbox row
// naming its events just before it commits, and DispatchOutbox enqueues job for up to
// eventJobBatch of them (one job for a payment's two events; one for several units' events
// dispatched together). Call it once, before units emit; without it events are only written.
func (db *DB) SetEventJob(job func(eventIDs ...string) txn.Job) { db.eventJob = job }

// Post implements txn.Tx: one insert of the transaction, one of all its postings.
func (u *unit) Post(ctx context.Context, t ledger.Transaction) error {
	if err := t.Check(); err != nil {
		return err
	}
	if t.At.IsZero() {
		return fmt.Errorf("post %s %s: %w: no time", t.Kind, t.SourceID, ledger.ErrUnbalanced)
	}
	g := u.g.WithContext(ctx)
	txID, at := id.New(id.LedgerTransaction), utc(t.At)
	err := g.Exec(`INSERT INTO ledger_transactions (id, kind, source_id, created_at) VALUES (?, ?, ?, ?)`,
		txID, t.Kind, t.SourceID, at).Error
	if isUnique(err) {
		return fmt.Errorf("post %s %s: %w", t.Kind, t.SourceID, ledger.ErrDuplicate)
	}
	if err != nil {
		return err
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO ledger_postings (transaction_id, seq, account, amount, created_at) VALUES `)
	args := make([]any, 0, 5*len(t.Postings))
	for i, p := range t.Postings {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?)")
		args = append(args, txID, i, string(p.Account), p.Amount, at)
	}
	return g.Exec(q.String(), args...).Error
}

// Audit implements txn.Tx.
func (u *unit) Audit(ctx context.Context, e txn.AuditEntry) error {
	if e.Action == "" || e.Actor.Subject == "" || e.Actor.Role == "" || e.At.IsZero() {
		return fmt.Errorf("audit: action, actor and time are required (action %q)", e.Action)
	}
	before, err := u.renderOptional(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s: render before: %w", e.Action, err)
	}
	after, err := u.renderOptional(e.After)
	if err != nil {
		return fmt.Errorf("audit %s: render after: %w", e.Action, err)
	}
	return u.g.WithContext(ctx).Exec(`INSERT INTO audit_events (id, action, actor_sub, actor_role, actor_org, actor_api_key_id,
		target_id, request_id, before, after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id.New(id.AuditEvent), e.Action, e.Actor.Subject, e.Actor.Role, e.Actor.Org, e.Actor.APIKeyID,
		e.TargetID, txn.RequestID(ctx), before, after, utc(e.At)).Error
}

func (u *unit) renderOptional(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := u.db.renderJSON(v)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// nullable stores "" as NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
