package monthclose_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/validation"
)

// TestStartRefusesMonthsOutOfRange: more than 13 months back, or before the platform's first
// buyer or centre, a close is refused (nothing would be collected; score checks would be spent),
// unless it exists already.
func TestStartRefusesMonthsOutOfRange(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		ctx := context.Background()
		store := storage.NewMonthCloses(db)
		clk := clock.NewManual(now) // 2026-12-01
		svc := monthclose.NewService(store, &queue{}, clk, nil)
		refused := func(month string) {
			t.Helper()
			_, _, err := svc.Start(ctx, month)
			var ve *validation.Error
			if !errors.As(err, &ve) || ve.Fields[0].Field != "month" || ve.Fields[0].Code != "range" {
				t.Errorf("Start(%s) err = %v, want a range error on month", month, err)
			}
		}
		// No buyer nor centre yet: only the 13 months bound.
		refused("0001-01")
		refused("2025-10")
		if _, outcome, err := svc.Start(ctx, "2025-11"); err != nil || outcome != monthclose.Started {
			t.Fatalf("Start(2025-11, 13 months back) = %v, %v", outcome, err)
		}
		// The first buyer arrives in 2026-03: earlier months are refused, except the one that exists.
		clk.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, clock.Paris()))
		_, err := parties.NewService(storage.NewParties(db), clk).CreateBuyer(ctx, parties.NewBuyer{Name: "Garage", SIREN: "812345676",
			Email: "a@garage.example", Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}})
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(now)
		refused("2026-02")
		if _, outcome, err := svc.Start(ctx, "2025-11"); err != nil || outcome != monthclose.Existing {
			t.Errorf("Start(existing 2025-11) = %v, %v, want Existing", outcome, err)
		}
		if _, outcome, err := svc.Start(ctx, "2026-03"); err != nil || outcome != monthclose.Started {
			t.Errorf("Start(2026-03) = %v, %v", outcome, err)
		}
	})
}
