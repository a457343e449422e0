package httpapi

import (
	"errors"
	"net/http"

	"github.com/vhupay/vhupay/internal/sepa"
)

// sepaDebitErrors are the refusals of the sepa_debit payment method (POST /v1/payment-intents).
var sepaDebitErrors = []errorMapping{
	{sepa.ErrNotEligible, http.StatusConflict, "sepa_not_eligible", "SEPA not eligible"},
	{sepa.ErrCeilingExceeded, http.StatusConflict, "sepa_ceiling_exceeded", "SEPA ceiling exceeded"},
}

// sepaProblemExtras adds reasons (sepa_not_eligible) and available (sepa_ceiling_exceeded).
func sepaProblemExtras(err error, p *Problem) {
	var notEligible *sepa.NotEligibleError
	if errors.As(err, &notEligible) {
		p.Reasons = notEligible.Reasons
	}
	var exceeded *sepa.CeilingExceededError
	if errors.As(err, &exceeded) {
		available := exceeded.Available
		p.Available = &available
	}
}
