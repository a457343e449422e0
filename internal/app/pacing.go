package app

import (
	"context"

	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/pacing"
	"github.com/vhupay/vhupay/internal/storage"
)

// providerBudget is the budget of MangoPay calls shared by every process on the database
// (VHUPAY_MANGOPAY_CALLS_PER_15MIN per VHUPAY_MANGOPAY_RATE_WINDOW), or nil when unlimited.
func providerBudget(cfg config.Config, db *storage.DB, a *App) *pacing.Pacer {
	if cfg.MangoPay.CallsPerWindow <= 0 {
		return nil
	}
	return pacing.New(pacing.Config{Store: storage.NewProviderBudgets(db), Name: "mangopay",
		Calls: cfg.MangoPay.CallsPerWindow, Window: cfg.MangoPay.RateWindow, Log: a.Log})
}

// pacedSteps runs every step of the month close under a paced context: each of its provider calls
// waits for the shared budget (the MangoPay client asks its pacer; the sandbox provider is
// wrapped by pacedCollectionsProvider).
func pacedSteps(steps []monthclose.Step) []monthclose.Step {
	out := make([]monthclose.Step, len(steps))
	for i, s := range steps {
		out[i] = monthclose.StepFunc(s.Name(), func(ctx context.Context, month string, p monthclose.Progress) (int, error) {
			return s.Run(pacing.Paced(ctx), month, p)
		})
	}
	return out
}

// sandboxCloseWorkers is how many provider and partner calls a month close step makes at once
// with the unpaced sandbox provider.
const sandboxCloseWorkers = 16

// sandboxCloseBatch is how many buyers or collections a month close step reads and records at
// once with the unpaced sandbox provider (200 otherwise: at a paced provider's rate, a batch's
// results and progress wait for its last call).
const sandboxCloseBatch = 1000

// pacedCollectionsProvider puts the sandbox provider's collection calls under a budget when
// VHUPAY_MANGOPAY_CALLS_PER_15MIN is set in sandbox mode, so that a paced close can be watched
// there too (the MangoPay client paces itself).
type pacedCollectionsProvider struct {
	collections.Provider
	pacer *pacing.Pacer
}

func (p pacedCollectionsProvider) CreateDirectDebitPayIn(ctx context.Context, req psp.DirectDebitPayInRequest) (psp.PayIn, error) {
	if err := p.pacer.Wait(ctx); err != nil {
		return psp.PayIn{}, err
	}
	return p.Provider.CreateDirectDebitPayIn(ctx, req)
}

func (p pacedCollectionsProvider) GetPayIn(ctx context.Context, payInID string) (psp.PayIn, error) {
	if err := p.pacer.Wait(ctx); err != nil {
		return psp.PayIn{}, err
	}
	return p.Provider.GetPayIn(ctx, payInID)
}

func (p pacedCollectionsProvider) GetRepudiation(ctx context.Context, id string) (psp.Repudiation, error) {
	if err := p.pacer.Wait(ctx); err != nil {
		return psp.Repudiation{}, err
	}
	return p.Provider.GetRepudiation(ctx, id)
}
