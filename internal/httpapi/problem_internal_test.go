package httpapi

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/psp"
)

// A provider that waits for a centre's authentication (MangoPay: 401 "WWW-Authenticate:
// PendingUserAction RedirectUrl=…" when reading an owner's wallet) becomes a 409
// provider_action_required problem carrying the page to send the centre's person to.
func TestProviderActionRequiredProblem(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/v1/balance", nil)
	err := fmt.Errorf("read centre wallet: %w", &psp.PendingActionError{Action: psp.PendingAction{URL: "https://sca.mangopay.com/?token=abc"}})
	p := (&Server{}).problemFor(c, err)
	if p.Status != 409 || p.Code != "provider_action_required" || p.ActionURL != "https://sca.mangopay.com/?token=abc" {
		t.Fatalf("problem %+v", p)
	}
	if p := (&Server{}).problemFor(c, fmt.Errorf("x: %w", psp.ErrRepresentativeRequired)); p.Status != 409 || p.Code != "legal_representative_required" || p.ActionURL != "" {
		t.Fatalf("problem %+v", p)
	}
}
