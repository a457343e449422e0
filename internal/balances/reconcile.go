package balances

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/pacing"
	"github.com/vhupay/vhupay/internal/txn"
)

// ErrReconciliationNotFound: no such reconciliation (not_found).
var ErrReconciliationNotFound = errors.New("reconciliation not found")

// ReconciliationStatus is where a reconciliation stands.
type ReconciliationStatus string

// Reconciliation statuses.
const (
	ReconciliationRunning    ReconciliationStatus = "running"
	ReconciliationMatched    ReconciliationStatus = "matched"
	ReconciliationMismatched ReconciliationStatus = "mismatched"
)

// Mismatch is a provider wallet whose balance differs from the ledger account it mirrors.
// Difference = ProviderBalance − LedgerBalance.
type Mismatch struct {
	Account         ledger.Account
	LedgerBalance   int64
	ProviderBalance int64
	Difference      int64
}

// Reconciliation compares every provider wallet with its ledger account. It never changes the
// ledger.
type Reconciliation struct {
	ID              string // rec_
	Status          ReconciliationStatus
	CheckedAccounts int
	Mismatches      []Mismatch
	CreatedAt       time.Time
	FinishedAt      time.Time // zero while running
	// ScheduledDay is the Paris day (YYYY-MM-DD) of a daily run; "" for one asked for.
	ScheduledDay string
}

// WalletRef is a provider wallet and the ledger account it mirrors.
type WalletRef struct {
	Account  ledger.Account
	WalletID string
	Owner    bool // a centre's wallet (read as an owner's)
}

// ReconcileTx is the unit of work that finishes a reconciliation.
type ReconcileTx interface {
	txn.Tx
	// FinishReconciliation writes r's status, checked accounts, mismatches and finished_at.
	FinishReconciliation(ctx context.Context, r Reconciliation) error
}

// ReconcileStore keeps reconciliations and reads what they compare.
type ReconcileStore interface {
	txn.Runner[ReconcileTx]
	// InsertReconciliation inserts r; it reports false, inserting nothing, when r is the daily
	// run of a day that has one already.
	InsertReconciliation(ctx context.Context, r Reconciliation) (bool, error)
	// DiscardReconciliation deletes a reconciliation that is still running (one that could not
	// finish), so that it is not left running and its day's run may be claimed again.
	DiscardReconciliation(ctx context.Context, id string) error
	// DiscardStaleDaily deletes the day's daily run when it is still running and was created
	// before startedBefore (its process stopped mid-way); it reports whether it did.
	DiscardStaleDaily(ctx context.Context, day string, startedBefore time.Time) (bool, error)
	// Reconciliation returns one or ErrReconciliationNotFound.
	Reconciliation(ctx context.Context, id string) (Reconciliation, error)
	// Reconciliations lists them newest first.
	Reconciliations(ctx context.Context, p page.Request) (page.Page[Reconciliation], error)
	// ProviderWallets lists up to limit wallets (the buyers' and the centres'), by account name
	// after after.
	ProviderWallets(ctx context.Context, after string, limit int) ([]WalletRef, error)
	// LedgerBalances returns every account's balance.
	LedgerBalances(ctx context.Context) (map[ledger.Account]int64, error)
	// InFlight returns, per account, what the provider holds and the ledger does not show yet
	// because a recorded transfer is not made yet: + its amount on the buyer's account, − its
	// net on the centre's, − its fee on platform:fees.
	InFlight(ctx context.Context) (map[ledger.Account]int64, error)
}

// WalletReader reads the provider's wallet balances.
type WalletReader interface {
	GetWallet(ctx context.Context, walletID string) (psp.Wallet, error)
	GetOwnerWallet(ctx context.Context, walletID string, presence psp.Presence) (psp.Wallet, error)
	GetFeesWallet(ctx context.Context) (psp.Wallet, error)
}

// Reconciler runs reconciliations.
type Reconciler struct {
	store    ReconcileStore
	provider WalletReader
	clock    clock.Clock
	log      *slog.Logger
}

// NewReconciler returns a Reconciler; provider nil answers ErrNoProvider-like psp.ErrUnavailable.
func NewReconciler(store ReconcileStore, provider WalletReader, c clock.Clock, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{store: store, provider: provider, clock: c, log: log}
}

// walletBatch is how many wallets one read of the store lists (the provider is read one wallet at
// a time, within its client's rate limit).
const walletBatch = 100

// Run reconciles every provider wallet with its ledger account: the buyers' wallets with
// buyer:<id>, the centres' with center:<id>, the fee wallet with platform:fees. A wallet whose
// difference is exactly what recorded transfers not made yet explain is matched. The outcome is
// written with a reconciliation.mismatch event when anything differs. Errors: psp.ErrUnavailable
// (the reconciliation is discarded, not left running), storage errors.
func (r *Reconciler) Run(ctx context.Context) (Reconciliation, error) {
	if r.provider == nil {
		return Reconciliation{}, fmt.Errorf("reconcile: no payment provider: %w", psp.ErrUnavailable)
	}
	rec := Reconciliation{ID: id.New(id.Reconciliation), Status: ReconciliationRunning, Mismatches: []Mismatch{}, CreatedAt: r.clock.Now()}
	if _, err := r.store.InsertReconciliation(ctx, rec); err != nil {
		return Reconciliation{}, err
	}
	return r.run(ctx, rec)
}

// DailyHour is the hour, Paris wall-clock time, of the daily reconciliation (04:00).
const DailyHour = 4

// RunDaily runs the day's reconciliation once the clock (the injected one: the sandbox's test
// clock moves it) has passed 04:00 Paris, unless it ran already: the day's run is claimed by a
// unique row, so that several processes run it once. It reports whether it ran one.
func (r *Reconciler) RunDaily(ctx context.Context) (bool, error) {
	if r.provider == nil {
		return false, nil
	}
	now := r.clock.Now()
	day := dailyRunDay(now)
	rec := Reconciliation{ID: id.New(id.Reconciliation), Status: ReconciliationRunning, Mismatches: []Mismatch{}, CreatedAt: now,
		ScheduledDay: day}
	claimed, err := r.store.InsertReconciliation(ctx, rec)
	if err != nil {
		return false, err
	}
	if !claimed {
		// A run left running by a process that stopped mid-way is taken over.
		stale, err := r.store.DiscardStaleDaily(ctx, day, now.Add(-staleAfter))
		if err != nil || !stale {
			return false, err
		}
		if claimed, err = r.store.InsertReconciliation(ctx, rec); err != nil || !claimed {
			return false, err
		}
	}
	_, err = r.run(ctx, rec)
	return err == nil, err
}

// staleAfter is how long a daily run may stay running before another process takes it over.
const staleAfter = time.Hour

// dailyRunDay is the Paris day whose daily run is the latest due at now: today from 04:00 Paris,
// yesterday before (04:00 is a wall-clock time: daylight saving changes do not move it).
func dailyRunDay(now time.Time) string {
	local := now.In(clock.Paris())
	if local.Hour() < DailyHour {
		return local.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return local.Format(time.DateOnly)
}

// run compares and finishes rec. A reconciliation that cannot finish (the provider does not
// answer, a read fails) is discarded rather than left running: a daily run is then claimed again
// at the next check, a run asked for answers the error.
func (r *Reconciler) run(ctx context.Context, rec Reconciliation) (Reconciliation, error) {
	out, err := r.compare(pacing.Paced(ctx), rec)
	if err != nil {
		if derr := r.store.DiscardReconciliation(context.WithoutCancel(ctx), rec.ID); derr != nil {
			r.log.ErrorContext(ctx, "a failed reconciliation not discarded", slog.String("reconciliation_id", rec.ID),
				slog.String("err", derr.Error()))
		}
		r.log.WarnContext(ctx, "reconciliation failed", slog.String("reconciliation_id", rec.ID), slog.String("err", err.Error()))
	}
	return out, err
}

// compare reads every wallet (paced: it is background work under the provider's call budget)
// and writes the outcome.
func (r *Reconciler) compare(ctx context.Context, rec Reconciliation) (Reconciliation, error) {
	balances, err := r.store.LedgerBalances(ctx)
	if err != nil {
		return rec, err
	}
	inFlight, err := r.store.InFlight(ctx)
	if err != nil {
		return rec, err
	}
	check := func(account ledger.Account, provider int64) {
		rec.CheckedAccounts++
		if provider != balances[account]+inFlight[account] {
			rec.Mismatches = append(rec.Mismatches, Mismatch{Account: account, LedgerBalance: balances[account],
				ProviderBalance: provider, Difference: provider - balances[account]})
		}
	}
	fees, err := r.provider.GetFeesWallet(ctx)
	if err != nil {
		return rec, fmt.Errorf("reconcile: read the fee wallet: %w", err)
	}
	check(ledger.PlatformFees, fees.Balance)
	after := ""
	for {
		refs, err := r.store.ProviderWallets(ctx, after, walletBatch)
		if err != nil {
			return rec, err
		}
		for _, w := range refs {
			var got psp.Wallet
			if w.Owner {
				got, err = r.provider.GetOwnerWallet(ctx, w.WalletID, psp.OwnerNotPresent)
			} else {
				got, err = r.provider.GetWallet(ctx, w.WalletID)
			}
			var rejected *psp.RejectedError
			if w.Owner && (errors.Is(err, psp.ErrPendingAction) || errors.As(err, &rejected)) {
				// The provider reads a centre's wallet without the centre on session only under
				// its standing consent (MangoPay: proxy consent): that wallet is not checked
				// (checked_accounts does not count it), and operators are told.
				r.log.WarnContext(ctx, "a centre's wallet cannot be read without its consent at the provider: not reconciled",
					slog.String("account", string(w.Account)), slog.String("err", err.Error()))
				after = string(w.Account)
				continue
			}
			if err != nil {
				return rec, fmt.Errorf("reconcile: read the wallet of %s: %w", w.Account, err)
			}
			check(w.Account, got.Balance)
			after = string(w.Account)
		}
		if len(refs) < walletBatch {
			break
		}
	}
	rec.Status, rec.FinishedAt = ReconciliationMatched, r.clock.Now()
	if len(rec.Mismatches) > 0 {
		rec.Status = ReconciliationMismatched
	}
	err = r.store.InTx(ctx, func(tx ReconcileTx) error {
		if err := tx.FinishReconciliation(ctx, rec); err != nil {
			return err
		}
		if rec.Status != ReconciliationMismatched {
			return nil
		}
		return tx.Emit(ctx, txn.Event{Type: "reconciliation.mismatch", Object: rec, At: rec.FinishedAt})
	})
	if err != nil {
		return rec, err
	}
	if rec.Status == ReconciliationMismatched {
		r.log.ErrorContext(ctx, "the provider's wallets differ from the ledger", slog.String("reconciliation_id", rec.ID),
			slog.Int("mismatches", len(rec.Mismatches)))
	}
	return rec, nil
}

// Reconciliation returns one. Errors: ErrReconciliationNotFound.
func (r *Reconciler) Reconciliation(ctx context.Context, id string) (Reconciliation, error) {
	return r.store.Reconciliation(ctx, id)
}

// Reconciliations lists them newest first.
func (r *Reconciler) Reconciliations(ctx context.Context, p page.Request) (page.Page[Reconciliation], error) {
	return r.store.Reconciliations(ctx, p)
}
