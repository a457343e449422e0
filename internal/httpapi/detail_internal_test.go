package httpapi

import (
	"errors"
	"regexp"
	"testing"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
)

// TestProblemDetailsSayWhatToDo: no detail is an internal error string ("sepa: ceiling
// exceeded"), and the errors that know the resource's state name it.
func TestProblemDetailsSayWhatToDo(t *testing.T) {
	internal := regexp.MustCompile(`^[a-z]+: `)
	for _, m := range errorTable {
		if d := detailOf(m.err, m.err); internal.MatchString(d) || d == "" {
			t.Errorf("%s: detail %q reads like an internal error", m.code, d)
		}
	}
	o := orders.Order{ID: "ord_1", Status: orders.StatusConfirmed}
	err := o.CheckPayable()
	if !errors.Is(err, orders.ErrNotPayable) || detailOf(err, orders.ErrNotPayable) !=
		"The order is confirmed, not payment_pending: it cannot be paid. Read it (GET /v1/orders/{id}) and show its status and payment." {
		t.Errorf("order_not_payable detail = %q", detailOf(err, orders.ErrNotPayable))
	}
	pi := payments.Intent{ID: "pi_1", Status: payments.StatusSucceeded}
	if d := detailOf(pi.Cancel(pi.CreatedAt), payments.ErrNotCancelable); d != "The payment intent is succeeded: only one waiting for 3-D Secure (requires_action) can be cancelled." {
		t.Errorf("intent_not_cancelable detail = %q", d)
	}
	err = pi.Expire(pi.CreatedAt)
	if !errors.Is(err, payments.ErrInvalidTransition) {
		t.Fatalf("expire a succeeded intent: %v", err)
	}
	if d := detailOf(err, payments.ErrInvalidTransition); !regexp.MustCompile(`is succeeded; this needs it requires_action`).MatchString(d) {
		t.Errorf("invalid_transition detail = %q", d)
	}
}
