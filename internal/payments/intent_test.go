package payments

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0 = time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	t1 = t0.Add(31 * time.Minute)
)

var allStatuses = []Status{
	StatusRequiresAction, StatusProcessing, StatusScheduled,
	StatusSucceeded, StatusFailed, StatusCanceled, "", "refunded",
}

// intentIn returns a card intent as it would stand in status s.
func intentIn(s Status) Intent {
	pi := Intent{
		ID: "pi_1", OrderID: "ord_1", BuyerID: "byr_1", Amount: 30000, Currency: "EUR",
		Method: MethodCard, Status: s, CardID: "card_1", ProviderPayInID: "payin_1",
		CreatedAt: t0, UpdatedAt: t0,
	}
	switch s {
	case StatusRequiresAction:
		pi.NextAction = &NextAction{Type: NextActionRedirectToURL, RedirectToURL: RedirectToURL{
			URL: "https://bank.example/3ds", ReturnURL: "https://shop.example/return",
		}}
	case StatusFailed:
		pi.LastError = &LastError{Code: CodeCardDeclined, Message: "declined"}
	}
	return pi
}

func TestIntentTransitions(t *testing.T) {
	// after returns the intent expected after an allowed change from status from.
	type after func(from Intent) Intent
	to := func(s Status, lastErr *LastError) after {
		return func(pi Intent) Intent {
			pi.Status, pi.NextAction, pi.LastError, pi.UpdatedAt = s, nil, lastErr, t1
			return pi
		}
	}
	failed := &LastError{Code: CodeAuthenticationFailed, Message: "3-D Secure failed"}
	expired := &LastError{Code: CodeExpired, Message: "3-D Secure authentication was not completed in time"}

	tests := []struct {
		name    string
		do      func(*Intent) error
		allowed map[Status]after // statuses not listed must refuse with refusal
		refusal error
	}{
		{"MarkSucceeded", func(pi *Intent) error { return pi.MarkSucceeded(t1) }, map[Status]after{
			StatusRequiresAction: to(StatusSucceeded, nil),
			StatusProcessing:     to(StatusSucceeded, nil),
			StatusScheduled:      to(StatusSucceeded, nil),
		}, ErrInvalidTransition},
		{"MarkFailed", func(pi *Intent) error { return pi.MarkFailed(CodeAuthenticationFailed, "3-D Secure failed", t1) }, map[Status]after{
			StatusRequiresAction: to(StatusFailed, failed),
			StatusProcessing:     to(StatusFailed, failed),
			StatusScheduled:      to(StatusFailed, failed),
		}, ErrInvalidTransition},
		{"Expire", func(pi *Intent) error { return pi.Expire(t1) }, map[Status]after{
			StatusRequiresAction: to(StatusCanceled, expired),
		}, ErrInvalidTransition},
	}
	for _, tt := range tests {
		for _, from := range allStatuses {
			t.Run(tt.name+"/from_"+string(from), func(t *testing.T) {
				pi := intentIn(from)
				before := intentIn(from)
				err := tt.do(&pi)
				next, ok := tt.allowed[from]
				if !ok {
					if !errors.Is(err, tt.refusal) {
						t.Fatalf("error = %v, want %v", err, tt.refusal)
					}
					if diff := cmp.Diff(before, pi); diff != "" {
						t.Errorf("intent changed on refusal (-before +after):\n%s", diff)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if diff := cmp.Diff(next(before), pi); diff != "" {
					t.Errorf("intent mismatch (-want +got):\n%s", diff)
				}
				if !pi.Status.Final() {
					t.Errorf("status %q after the change is not final", pi.Status)
				}
			})
		}
	}
}

// TestIntentOpeningTransitions lists every allowed and refused move of the transitions that open
// an intent or move it between open statuses, and of Orphan.
func TestIntentOpeningTransitions(t *testing.T) {
	type after func(from Intent) Intent
	to := func(s Status) after {
		return func(pi Intent) Intent {
			pi.Status, pi.UpdatedAt = s, t1
			return pi
		}
	}
	redirect := &NextAction{Type: NextActionRedirectToURL, RedirectToURL: RedirectToURL{URL: "https://bank.example/acs", ReturnURL: "https://shop.example/back"}}
	tests := []struct {
		name    string
		do      func(*Intent) error
		allowed map[Status]after // statuses not listed refuse with ErrInvalidTransition
	}{
		{"Schedule", func(pi *Intent) error { return pi.Schedule(t1) }, map[Status]after{"": to(StatusScheduled)}},
		{"Charge", func(pi *Intent) error { return pi.Charge(t1) }, map[Status]after{"": to(StatusProcessing)}},
		{"RequireAction", func(pi *Intent) error {
			return pi.RequireAction("https://bank.example/acs", "https://shop.example/back", t1)
		},
			map[Status]after{StatusProcessing: func(pi Intent) Intent {
				pi.Status, pi.NextAction, pi.UpdatedAt = StatusRequiresAction, redirect, t1
				return pi
			}}},
		{"Abandon", func(pi *Intent) error { return pi.Abandon(t1) }, map[Status]after{StatusProcessing: func(pi Intent) Intent {
			pi.Status, pi.NextAction, pi.LastError, pi.UpdatedAt = StatusCanceled, nil, nil, t1
			return pi
		}}},
		{"Orphan", func(pi *Intent) error { return pi.Orphan() }, map[Status]after{StatusSucceeded: func(pi Intent) Intent {
			pi.Status, pi.NextAction, pi.LastError = StatusCanceled, nil, nil
			return pi
		}}},
	}
	for _, tt := range tests {
		for _, from := range allStatuses {
			t.Run(tt.name+"/from_"+string(from), func(t *testing.T) {
				pi, before := intentIn(from), intentIn(from)
				err := tt.do(&pi)
				next, ok := tt.allowed[from]
				if !ok {
					if !errors.Is(err, ErrInvalidTransition) {
						t.Fatalf("error = %v, want ErrInvalidTransition", err)
					}
					if diff := cmp.Diff(before, pi); diff != "" {
						t.Errorf("intent changed on refusal (-before +after):\n%s", diff)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if diff := cmp.Diff(next(before), pi); diff != "" {
					t.Errorf("intent mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// Once final, no sequence of calls moves an intent.
func TestFinalStatusesNeverChange(t *testing.T) {
	for _, s := range []Status{StatusSucceeded, StatusFailed, StatusCanceled} {
		pi := intentIn(s)
		before := pi
		errs := []error{
			pi.MarkSucceeded(t1),
			pi.MarkFailed(CodeCardDeclined, "x", t1),
			pi.Expire(t1),
		}
		for i, err := range errs {
			if err == nil {
				t.Errorf("%s: call %d succeeded", s, i)
			}
		}
		if diff := cmp.Diff(before, pi); diff != "" {
			t.Errorf("%s: intent changed (-before +after):\n%s", s, diff)
		}
	}
}

func TestIntentPredicates(t *testing.T) {
	tests := []struct {
		status              Status
		valid, final        bool
		open, confirmsOrder bool
	}{
		{StatusRequiresAction, true, false, true, false},
		{StatusProcessing, true, false, true, false},
		{StatusScheduled, true, false, false, true},
		{StatusSucceeded, true, true, false, true},
		{StatusFailed, true, true, false, false},
		{StatusCanceled, true, true, false, false},
		{"cancelled", false, false, false, false},
		{"", false, false, false, false},
	}
	for _, tt := range tests {
		pi := intentIn(tt.status)
		got := [4]bool{tt.status.Valid(), tt.status.Final(), pi.IsOpen(), pi.ConfirmsOrder()}
		if want := [4]bool{tt.valid, tt.final, tt.open, tt.confirmsOrder}; got != want {
			t.Errorf("%q: [Valid Final IsOpen ConfirmsOrder] = %v, want %v", tt.status, got, want)
		}
	}
}

func TestMethodValid(t *testing.T) {
	for m, want := range map[Method]bool{
		MethodCard: true, MethodSEPADebit: true, MethodVHUInvoice: true,
		"sepa": false, "Card": false, "": false,
	} {
		if got := m.Valid(); got != want {
			t.Errorf("Method(%q).Valid() = %v, want %v", m, got, want)
		}
	}
}

func TestValidateReturnURL(t *testing.T) {
	tests := []struct {
		raw  string
		want string // "" when valid, else the reason after "invalid return URL: "
	}{
		{"https://shop.example/payments/return", ""},
		{"https://shop.example", ""},
		{"https://shop.example:8443/r?cart=42&x=1", ""},
		{"HTTPS://SHOP.EXAMPLE/r", ""},
		{"https://[2001:db8::1]/r", ""},
		{"http://localhost/r", ""},
		{"http://localhost:3000/r", ""},
		{"http://LocalHost:3000/r", ""},
		{"http://127.0.0.1:5173/", ""},
		{"http://127.0.0.1", ""},

		{"", "it is empty"},
		{"https://shop.example/" + strings.Repeat("a", MaxReturnURLLength), "it is longer than 2048 bytes"},
		{"http://shop.example/r", "http is allowed only on localhost and 127.0.0.1; use https"},
		{"http://127.0.0.2/r", "http is allowed only on localhost and 127.0.0.1; use https"},
		{"http://[::1]:3000/r", "http is allowed only on localhost and 127.0.0.1; use https"},
		{"http://localhost.evil.example/r", "http is allowed only on localhost and 127.0.0.1; use https"},
		{"http://localhost./r", "http is allowed only on localhost and 127.0.0.1; use https"},
		{"javascript:alert(1)", "its scheme must be https"},
		{"JavaScript://shop.example/%0aalert(1)", "its scheme must be https"},
		{"data:text/html,<script>alert(1)</script>", "its scheme must be https"},
		{"ftp://shop.example/r", "its scheme must be https"},
		{"//shop.example/r", "its scheme must be https"},
		{"/payments/return", "its scheme must be https"},
		{"shop.example/r", "its scheme must be https"},
		{"https:shop.example/r", "it has no host"},
		{"https:///r", "it has no host"},
		{"https://:443/r", "it has no host"},
		{"https://user:pass@shop.example/r", "it must not contain user information"},
		{"https://shop.example@evil.example/r", "it must not contain user information"},
		{"http://localhost@evil.example/r", "it must not contain user information"},
		{"https://shop.example/#/payment", "it must not contain a fragment (#...)"},
		{"https://shop.example/r#", "it must not contain a fragment (#...)"},
		{"https://shop.example:0/r", "its port is 0"},
		{"https://shop.example:65536/r", "its port is above 65535"},
		{"https://shop.example:99999999999999999999/r", "its port is above 65535"},
		{"https://shop.example:/r", "its port is empty"},
		{"https://shop.example:https/r", "it is not a URL"},
		{"https://shop.example/a b", "it contains spaces or control characters"},
		{" https://shop.example/r", "it contains spaces or control characters"},
		{"https://shop.example/r\n", "it contains spaces or control characters"},
		{"https://shop.example/\x7f", "it contains spaces or control characters"},
		{"https://shop.example/%zz", "it is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			err := ValidateReturnURL(tt.raw)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateReturnURL(%q) = %v, want nil", tt.raw, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidReturnURL) {
				t.Fatalf("ValidateReturnURL(%q) = %v, want ErrInvalidReturnURL", tt.raw, err)
			}
			if got, want := err.Error(), "invalid return URL: "+tt.want; got != want {
				t.Errorf("ValidateReturnURL(%q) = %q, want %q", tt.raw, got, want)
			}
		})
	}
}

func TestReturnURLFor(t *testing.T) {
	tests := []struct {
		returnURL string
		want      string
		wantErr   error
	}{
		{"https://shop.example/return", "https://shop.example/return?payment_intent=pi_1", nil},
		{"https://shop.example/return?cart=42", "https://shop.example/return?cart=42&payment_intent=pi_1", nil},
		{"https://shop.example/return?payment_intent=pi_old", "https://shop.example/return?payment_intent=pi_1", nil},
		{"http://localhost:3000/", "http://localhost:3000/?payment_intent=pi_1", nil},
		{"http://shop.example/return", "", ErrInvalidReturnURL},
		{"https://shop.example/#/pay", "", ErrInvalidReturnURL},
	}
	for _, tt := range tests {
		got, err := ReturnURLFor(tt.returnURL, "pi_1")
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("ReturnURLFor(%q) error = %v, want %v", tt.returnURL, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ReturnURLFor(%q) = %q, want %q", tt.returnURL, got, tt.want)
		}
	}
}
