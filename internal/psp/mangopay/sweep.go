package mangopay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// FindCardPayIn implements psp.PayIns: GET /responses/{key} gives MangoPay's first answer to a
// key (kept 24 hours; api-reference/api-responses/view-api-response.mdx), for each generation of
// the MangoPay key that CreateCardPayIn derives from the caller's (see IdempotencyKey): a first
// answer 5xx or 429 spent its generation, so the next one is read. No record, or a refusal
// (nothing was created), is psp.ErrNotFound.
func (c *Client) FindCardPayIn(ctx context.Context, idempotencyKey string) (psp.PayIn, error) {
	for gen := 0; gen < maxKeyGenerations; gen++ {
		var stored struct {
			StatusCode json.Number     `json:"StatusCode"`
			Resource   json.RawMessage `json:"Resource"`
		}
		key := IdempotencyKey("/payins/card/direct", idempotencyKey, gen)
		if err := c.call(ctx, request{method: http.MethodGet, path: "/responses/" + url.PathEscape(key)}, &stored); err != nil {
			return psp.PayIn{}, err
		}
		code, err := strconv.Atoi(stored.StatusCode.String())
		if err != nil {
			return psp.PayIn{}, fmt.Errorf("mangopay stored response status %q: %w", stored.StatusCode, psp.ErrUnavailable)
		}
		if code >= 500 || code == http.StatusTooManyRequests {
			continue
		}
		if code/100 != 2 {
			return psp.PayIn{}, fmt.Errorf("mangopay: the first request with this key answered %d: %w", code, psp.ErrNotFound)
		}
		body := []byte(stored.Resource)
		var quoted string // tolerate a Resource given as a JSON string holding the body
		if json.Unmarshal(body, &quoted) == nil {
			body = []byte(quoted)
		}
		var out payIn
		if err := json.Unmarshal(body, &out); err != nil || out.ID == "" {
			return psp.PayIn{}, fmt.Errorf("mangopay stored response: not a pay-in: %w", psp.ErrUnavailable)
		}
		if out.PaymentType == "" {
			out.PaymentType = "CARD"
		}
		// The stored answer is the pay-in as it was created: read its current state.
		return c.GetPayIn(ctx, out.ID)
	}
	return psp.PayIn{}, fmt.Errorf("mangopay: every key generation failed: %w", psp.ErrNotFound)
}

// eventsPerPage is MangoPay's largest page (overview/pagination.mdx).
const eventsPerPage = 100

// SucceededPayIns implements psp.PayIns: GET /events?EventType=PAYIN_NORMAL_SUCCEEDED with
// AfterDate and BeforeDate (Unix seconds), every page (api-reference/events/list-events.mdx;
// MangoPay keeps 45 days of events).
func (c *Client) SucceededPayIns(ctx context.Context, since, until time.Time) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for page := 1; ; page++ {
		// Dates are whole seconds: the bounds are widened by one, so that the window is inclusive
		// whichever way MangoPay compares (a pay-in listed twice is harmless).
		v := url.Values{"EventType": {"PAYIN_NORMAL_SUCCEEDED"}, "AfterDate": {strconv.FormatInt(since.Unix()-1, 10)},
			"BeforeDate": {strconv.FormatInt(until.Unix()+1, 10)}, "Sort": {"Date:ASC"},
			"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(eventsPerPage)}}
		var out []struct {
			ResourceID string `json:"ResourceId"`
			EventType  string `json:"EventType"`
		}
		var header http.Header
		if err := c.call(ctx, request{method: http.MethodGet, path: "/events?" + v.Encode(), header: &header}, &out); err != nil {
			return nil, err
		}
		for _, e := range out {
			if e.ResourceID != "" && !seen[e.ResourceID] {
				seen[e.ResourceID] = true
				ids = append(ids, e.ResourceID)
			}
		}
		pages, err := strconv.Atoi(header.Get("X-Number-Of-Pages"))
		if err != nil {
			pages = page
			if len(out) == eventsPerPage {
				pages = page + 1
			}
		}
		if page >= pages || len(out) == 0 {
			return ids, nil
		}
	}
}
