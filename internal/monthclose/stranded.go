package monthclose

import (
	"context"
	"log/slog"
	"time"
)

// MaxStrandedListed bounds each list of a Stranded; its counts are the full numbers.
const MaxStrandedListed = 100

// Stranded is what the close of a month should have taken and did not: the month's scheduled
// sepa_debit intents without a collection once its collections step has completed, and its open
// invoicing statements once its statements step has completed. Payments and the close of their
// month are serialised (a payment counts in a month only if it commits before the month's close
// begins), so it is always empty; anything listed here is a bug to investigate.
type Stranded struct {
	Month string
	// IntentCount and StatementCount are the full counts; the lists hold at most
	// MaxStrandedListed each, oldest first.
	IntentCount, StatementCount int
	Intents                     []StrandedIntent
	Statements                  []StrandedStatement
}

// Empty reports whether nothing is stranded.
func (s Stranded) Empty() bool { return s.IntentCount == 0 && s.StatementCount == 0 }

// StrandedIntent is a scheduled sepa_debit intent that its month's collections left out.
type StrandedIntent struct {
	ID, OrderID, BuyerID string
	Amount               int64
	CreatedAt            time.Time
}

// StrandedStatement is a statement still open after its month's statements were issued.
type StrandedStatement struct {
	ID, BuyerID, CenterID string
	Total                 int64
	CreatedAt             time.Time
}

// StrandedStore finds what closes left behind.
type StrandedStore interface {
	// Stranded returns what month's close left behind (see Stranded).
	Stranded(ctx context.Context, month string) (Stranded, error)
	// CountStranded counts what every close left behind, over all months.
	CountStranded(ctx context.Context) (intents, statements int, err error)
}

// Stranded returns what month's close left behind (always empty unless something escaped the
// serialisation of payments and closes; such a finding is logged at ERROR). Errors: ErrNotFound
// when the close has not started (or month is not a month).
func (s *Service) Stranded(ctx context.Context, month string) (Stranded, error) {
	if _, err := s.Get(ctx, month); err != nil {
		return Stranded{}, err
	}
	st, err := s.store.Stranded(ctx, month)
	if err != nil {
		return Stranded{}, err
	}
	if !st.Empty() {
		s.log.ErrorContext(ctx, "month close left payments behind", slog.String("month", month),
			slog.Int("stranded_intents", st.IntentCount), slog.Int("open_statements", st.StatementCount))
	}
	return st, nil
}

// CountStranded counts what every close left behind, for the metric.
func (s *Service) CountStranded(ctx context.Context) (intents, statements int, err error) {
	return s.store.CountStranded(ctx)
}
