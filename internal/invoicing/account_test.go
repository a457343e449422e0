package invoicing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewAccount(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	got := NewAccount("ina_1", "byr_1", "ctr_1", at)
	want := Account{ID: "ina_1", BuyerID: "byr_1", CenterID: "ctr_1", Status: AccountPending, CreatedAt: at}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewAccount (-want +got):\n%s", diff)
	}
}

func TestAccountTransitions(t *testing.T) {
	created := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	earlier := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	at := time.Date(2026, 11, 5, 14, 30, 0, 0, time.UTC)

	type action struct {
		name string
		do   func(a *Account, note string, at time.Time) error
	}
	approve := action{"approve", (*Account).Approve}
	reject := action{"reject", (*Account).Reject}
	revoke := action{"revoke", (*Account).Revoke}

	tests := []struct {
		from    AccountStatus
		action  action
		want    AccountStatus // "" when the transition is refused
		wantErr error
	}{
		{AccountPending, approve, AccountApproved, nil},
		{AccountPending, reject, AccountRejected, nil},
		{AccountPending, revoke, "", ErrInvalidTransition},
		{AccountApproved, approve, "", ErrInvalidTransition},
		{AccountApproved, reject, "", ErrInvalidTransition},
		{AccountApproved, revoke, AccountRevoked, nil},
		{AccountRejected, approve, "", ErrInvalidTransition},
		{AccountRejected, reject, "", ErrInvalidTransition},
		{AccountRejected, revoke, "", ErrInvalidTransition},
		{AccountRevoked, approve, "", ErrInvalidTransition},
		{AccountRevoked, reject, "", ErrInvalidTransition},
		{AccountRevoked, revoke, "", ErrInvalidTransition},
		{"", approve, "", ErrInvalidTransition},
		{"unknown", revoke, "", ErrInvalidTransition},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"/"+tt.action.name, func(t *testing.T) {
			before := Account{ID: "ina_1", BuyerID: "byr_1", CenterID: "ctr_1", Status: tt.from, Note: "old", CreatedAt: created}
			if tt.from != AccountPending {
				before.DecidedAt = &earlier
			}
			a := before
			err := tt.action.do(&a, "new note", at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s from %q: err = %v, want %v", tt.action.name, tt.from, err, tt.wantErr)
			}
			want := before
			if tt.wantErr == nil {
				want.Status, want.Note, want.DecidedAt = tt.want, "new note", &at
			}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Errorf("account after %s (-want +got):\n%s", tt.action.name, diff)
			}
		})
	}
}

func TestAccountIsLiveAndEnsureApproved(t *testing.T) {
	tests := []struct {
		status      AccountStatus
		live        bool
		notApproved bool
	}{
		{AccountPending, true, true},
		{AccountApproved, true, false},
		{AccountRejected, false, true},
		{AccountRevoked, false, true},
		{"", false, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			a := Account{ID: "ina_1", Status: tt.status}
			if got := a.IsLive(); got != tt.live {
				t.Errorf("IsLive() = %v, want %v", got, tt.live)
			}
			err := a.EnsureApproved()
			if got := errors.Is(err, ErrNotApproved); got != tt.notApproved {
				t.Errorf("EnsureApproved() = %v, want ErrNotApproved: %v", err, tt.notApproved)
			}
			if !tt.notApproved && err != nil {
				t.Errorf("EnsureApproved() = %v, want nil", err)
			}
		})
	}
}

func TestValidateDeliveryNote(t *testing.T) {
	type fieldCode struct{ Field, Code string }
	tests := []struct {
		name   string
		kind   string
		number string
		want   []fieldCode // nil when valid
	}{
		{"BL", "BL", "BL-2026-0001", nil},
		{"BR", "BR", "42", nil},
		{"trimmed", "BL", "  \t 123 \n", nil},
		{"inner space and accents", "BR", "Bon n° 12 – été", nil},
		{"64 characters", "BL", strings.Repeat("é", 64), nil},
		{"65 characters", "BL", strings.Repeat("é", 65), []fieldCode{{"number", "max"}}},
		{"66 before trim, 64 after", "BL", " " + strings.Repeat("9", 64) + " ", nil},
		{"empty number", "BL", "", []fieldCode{{"number", "required"}}},
		{"blank number", "BL", " \t ", []fieldCode{{"number", "required"}}},
		{"tab inside", "BL", "12\t34", []fieldCode{{"number", "printable"}}},
		{"newline inside", "BL", "12\n34", []fieldCode{{"number", "printable"}}},
		{"no-break space inside", "BL", "12\u00a034", []fieldCode{{"number", "printable"}}},
		{"zero width space", "BL", "12\u200b34", []fieldCode{{"number", "printable"}}},
		{"invalid UTF-8", "BL", "12\xff", []fieldCode{{"number", "printable"}}},
		{"empty kind", "", "1", []fieldCode{{"kind", "required"}}},
		{"lower case kind", "bl", "1", []fieldCode{{"kind", "oneof"}}},
		{"other kind", "BC", "1", []fieldCode{{"kind", "oneof"}}},
		{"both invalid", "XX", "", []fieldCode{{"kind", "oneof"}, {"number", "required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateDeliveryNote(tt.kind, tt.number)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateDeliveryNote(%q, %q) = %v, want nil", tt.kind, tt.number, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidDeliveryNote) {
				t.Fatalf("ValidateDeliveryNote(%q, %q) = %v, want ErrInvalidDeliveryNote", tt.kind, tt.number, err)
			}
			var got []fieldCode
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a *FieldError", e)
				}
				got = append(got, fieldCode{fe.Field, fe.Code})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewDeliveryNote(t *testing.T) {
	at := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	got, err := NewDeliveryNote("BR", "  BR-77 ", at)
	if err != nil {
		t.Fatalf("NewDeliveryNote: %v", err)
	}
	if diff := cmp.Diff(DeliveryNote{Kind: NoteBR, Number: "BR-77", CreatedAt: at}, got); diff != "" {
		t.Errorf("NewDeliveryNote (-want +got):\n%s", diff)
	}

	_, err = NewDeliveryNote("BL", "", at)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "number" || !errors.Is(err, ErrInvalidDeliveryNote) {
		t.Errorf("NewDeliveryNote with empty number: err = %v, want a *FieldError on number", err)
	}
}
