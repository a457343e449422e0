package orders

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/validation"
)

var (
	t0 = time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

func rate(bp int) *int { return &bp }

func validLine() LineInput {
	return LineInput{Reference: "REF-1", Label: "Phare avant gauche", Quantity: 1, UnitPriceExclVAT: 25000}
}

func validInput() NewOrderInput {
	return NewOrderInput{
		BuyerID:      "byr_1",
		CenterID:     "ctr_1",
		DeliveryMode: DeliveryModeDelivery,
		Lines:        []LineInput{validLine()},
	}
}

func TestNewOrderComputesTotals(t *testing.T) {
	in := NewOrderInput{
		BuyerID:           "byr_1",
		CenterID:          "ctr_1",
		DeliveryMode:      DeliveryModePickup,
		ExternalReference: "cart-42",
		Lines: []LineInput{
			{Reference: "A", Label: "Moteur", Quantity: 1, UnitPriceExclVAT: 25000},                     // default 20 %
			{Reference: "B", Label: "Vis", Quantity: 3, UnitPriceExclVAT: 1, VATRate: rate(2000)},       // 0.6 → 1
			{Reference: "C", Label: "Joint", Quantity: 10, UnitPriceExclVAT: 1, VATRate: rate(550)},     // 0.55 → 1
			{Reference: "D", Label: "Rondelle", Quantity: 9, UnitPriceExclVAT: 1, VATRate: rate(550)},   // 0.495 → 0
			{Reference: "E", Label: "Filtre", Quantity: 5, UnitPriceExclVAT: 1, VATRate: rate(1000)},    // 0.5 → 1
			{Reference: "F", Label: "Manuel", Quantity: 2, UnitPriceExclVAT: 1999, VATRate: rate(0)},    // no VAT
			{Reference: "G", Label: "Capot", Quantity: 7, UnitPriceExclVAT: 14285, VATRate: rate(1000)}, // 9999.5 → 10000
		},
	}
	got, err := NewOrder(in, "ord_1", t0)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	want := Order{
		ID:                "ord_1",
		BuyerID:           "byr_1",
		CenterID:          "ctr_1",
		Status:            StatusPaymentPending,
		DeliveryMode:      DeliveryModePickup,
		ExternalReference: "cart-42",
		Lines: []Line{
			{Reference: "A", Label: "Moteur", Quantity: 1, UnitPriceExclVAT: 25000, VATRate: 2000, TotalExclVAT: 25000, TotalVAT: 5000, Total: 30000},
			{Reference: "B", Label: "Vis", Quantity: 3, UnitPriceExclVAT: 1, VATRate: 2000, TotalExclVAT: 3, TotalVAT: 1, Total: 4},
			{Reference: "C", Label: "Joint", Quantity: 10, UnitPriceExclVAT: 1, VATRate: 550, TotalExclVAT: 10, TotalVAT: 1, Total: 11},
			{Reference: "D", Label: "Rondelle", Quantity: 9, UnitPriceExclVAT: 1, VATRate: 550, TotalExclVAT: 9, TotalVAT: 0, Total: 9},
			{Reference: "E", Label: "Filtre", Quantity: 5, UnitPriceExclVAT: 1, VATRate: 1000, TotalExclVAT: 5, TotalVAT: 1, Total: 6},
			{Reference: "F", Label: "Manuel", Quantity: 2, UnitPriceExclVAT: 1999, VATRate: 0, TotalExclVAT: 3998, TotalVAT: 0, Total: 3998},
			{Reference: "G", Label: "Capot", Quantity: 7, UnitPriceExclVAT: 14285, VATRate: 1000, TotalExclVAT: 99995, TotalVAT: 10000, Total: 109995},
		},
		TotalExclVAT: 25000 + 3 + 10 + 9 + 5 + 3998 + 99995,
		TotalVAT:     5000 + 1 + 1 + 0 + 1 + 0 + 10000,
		Total:        30000 + 4 + 11 + 9 + 6 + 3998 + 109995,
		Currency:     "EUR",
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewOrder mismatch (-want +got):\n%s", diff)
	}
	if got.Total != got.TotalExclVAT+got.TotalVAT {
		t.Errorf("Total %d != TotalExclVAT %d + TotalVAT %d", got.Total, got.TotalExclVAT, got.TotalVAT)
	}
}

// VAT is computed once per line, then summed: summing exact VAT over the order would give
// 3 × 0.6 = 1.8 → 2, while per line it is 3 × 1 = 3.
func TestNewOrderSumsPerLineVAT(t *testing.T) {
	in := validInput()
	in.Lines = []LineInput{
		{Reference: "A", Label: "a", Quantity: 1, UnitPriceExclVAT: 3},
		{Reference: "B", Label: "b", Quantity: 1, UnitPriceExclVAT: 3},
		{Reference: "C", Label: "c", Quantity: 1, UnitPriceExclVAT: 3},
	}
	o, err := NewOrder(in, "ord_1", t0)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if got := [3]int64{o.TotalExclVAT, o.TotalVAT, o.Total}; got != [3]int64{9, 3, 12} {
		t.Errorf("totals = %v, want [9 3 12]", got)
	}
}

func TestNewOrderLargestOrder(t *testing.T) {
	in := validInput()
	in.Lines = make([]LineInput, MaxLines)
	for i := range in.Lines {
		in.Lines[i] = LineInput{Reference: "R", Label: "L", Quantity: MaxQuantity, UnitPriceExclVAT: MaxUnitPriceExclVAT}
	}
	o, err := NewOrder(in, "ord_1", t0)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	want := [3]int64{1e13, 2e12, 1.2e13}
	if got := [3]int64{o.TotalExclVAT, o.TotalVAT, o.Total}; got != want {
		t.Errorf("totals = %v, want %v", got, want)
	}
}

func TestNewOrderDoesNotAliasInput(t *testing.T) {
	in := validInput()
	r := 550
	in.Lines[0].VATRate = &r
	o, err := NewOrder(in, "ord_1", t0)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	r = 2000
	in.Lines[0].Quantity = 999
	if o.Lines[0].VATRate != 550 || o.Lines[0].Quantity != 1 {
		t.Errorf("order changed with its input: %+v", o.Lines[0])
	}
}

func TestNewOrderValidation(t *testing.T) {
	lines := func(n int) []LineInput {
		ls := make([]LineInput, n)
		for i := range ls {
			ls[i] = validLine()
		}
		return ls
	}
	tests := []struct {
		name   string
		modify func(*NewOrderInput)
		want   []validation.FieldError // nil: valid
	}{
		{"valid", func(*NewOrderInput) {}, nil},
		{"nil lines", func(in *NewOrderInput) { in.Lines = nil },
			[]validation.FieldError{{Field: "lines", Code: "min", Message: "must have at least 1 line"}}},
		{"0 lines", func(in *NewOrderInput) { in.Lines = lines(0) },
			[]validation.FieldError{{Field: "lines", Code: "min", Message: "must have at least 1 line"}}},
		{"1 line", func(in *NewOrderInput) { in.Lines = lines(1) }, nil},
		{"100 lines", func(in *NewOrderInput) { in.Lines = lines(100) }, nil},
		{"101 lines", func(in *NewOrderInput) { in.Lines = lines(101) },
			[]validation.FieldError{{Field: "lines", Code: "max", Message: "must have at most 100 lines"}}},

		{"quantity -1", func(in *NewOrderInput) { in.Lines[0].Quantity = -1 },
			[]validation.FieldError{{Field: "lines[0].quantity", Code: "min", Message: "must be at least 1"}}},
		{"quantity 0", func(in *NewOrderInput) { in.Lines[0].Quantity = 0 },
			[]validation.FieldError{{Field: "lines[0].quantity", Code: "min", Message: "must be at least 1"}}},
		{"quantity 1", func(in *NewOrderInput) { in.Lines[0].Quantity = 1 }, nil},
		{"quantity 1000", func(in *NewOrderInput) { in.Lines[0].Quantity = 1000 }, nil},
		{"quantity 1001", func(in *NewOrderInput) { in.Lines[0].Quantity = 1001 },
			[]validation.FieldError{{Field: "lines[0].quantity", Code: "max", Message: "must be at most 1000"}}},

		{"price -5", func(in *NewOrderInput) { in.Lines[0].UnitPriceExclVAT = -5 },
			[]validation.FieldError{{Field: "lines[0].unit_price_excl_vat", Code: "min", Message: "must be at least 1 cent"}}},
		{"price 0", func(in *NewOrderInput) { in.Lines[0].UnitPriceExclVAT = 0 },
			[]validation.FieldError{{Field: "lines[0].unit_price_excl_vat", Code: "min", Message: "must be at least 1 cent"}}},
		{"price 1", func(in *NewOrderInput) { in.Lines[0].UnitPriceExclVAT = 1 }, nil},
		{"price 1e8", func(in *NewOrderInput) { in.Lines[0].UnitPriceExclVAT = 100_000_000 }, nil},
		{"price 1e8+1", func(in *NewOrderInput) { in.Lines[0].UnitPriceExclVAT = 100_000_001 },
			[]validation.FieldError{{Field: "lines[0].unit_price_excl_vat", Code: "max", Message: "must be at most 100000000 cents"}}},

		{"rate 0", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(0) }, nil},
		{"rate 550", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(550) }, nil},
		{"rate 1000", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(1000) }, nil},
		{"rate 2000", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(2000) }, nil},
		{"rate 1999", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(1999) },
			[]validation.FieldError{{Field: "lines[0].vat_rate", Code: "oneof", Message: "must be one of 0, 550, 1000, 2000 (basis points)"}}},
		{"rate 20 (a percentage, not basis points)", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(20) },
			[]validation.FieldError{{Field: "lines[0].vat_rate", Code: "oneof", Message: "must be one of 0, 550, 1000, 2000 (basis points)"}}},
		{"rate -2000", func(in *NewOrderInput) { in.Lines[0].VATRate = rate(-2000) },
			[]validation.FieldError{{Field: "lines[0].vat_rate", Code: "oneof", Message: "must be one of 0, 550, 1000, 2000 (basis points)"}}},

		{"no delivery mode", func(in *NewOrderInput) { in.DeliveryMode = "" },
			[]validation.FieldError{{Field: "delivery_mode", Code: "required", Message: "is required"}}},
		{"unknown delivery mode", func(in *NewOrderInput) { in.DeliveryMode = "ship" },
			[]validation.FieldError{{Field: "delivery_mode", Code: "oneof", Message: `must be "delivery" or "pickup"`}}},
		{"delivery mode is case-sensitive", func(in *NewOrderInput) { in.DeliveryMode = "Pickup" },
			[]validation.FieldError{{Field: "delivery_mode", Code: "oneof", Message: `must be "delivery" or "pickup"`}}},
		{"pickup", func(in *NewOrderInput) { in.DeliveryMode = DeliveryModePickup }, nil},

		{"no buyer", func(in *NewOrderInput) { in.BuyerID = "" },
			[]validation.FieldError{{Field: "buyer_id", Code: "required", Message: "is required"}}},
		{"blank centre", func(in *NewOrderInput) { in.CenterID = " \t" },
			[]validation.FieldError{{Field: "center_id", Code: "required", Message: "is required"}}},

		{"no reference", func(in *NewOrderInput) { in.Lines[0].Reference = "" },
			[]validation.FieldError{{Field: "lines[0].reference", Code: "required", Message: "is required"}}},
		{"blank reference", func(in *NewOrderInput) { in.Lines[0].Reference = "   " },
			[]validation.FieldError{{Field: "lines[0].reference", Code: "required", Message: "is required"}}},
		{"reference of 100 multi-byte characters", func(in *NewOrderInput) { in.Lines[0].Reference = strings.Repeat("é", 100) }, nil},
		{"reference of 101 characters", func(in *NewOrderInput) { in.Lines[0].Reference = strings.Repeat("x", 101) },
			[]validation.FieldError{{Field: "lines[0].reference", Code: "max", Message: "must be at most 100 characters"}}},
		{"no label", func(in *NewOrderInput) { in.Lines[0].Label = "" },
			[]validation.FieldError{{Field: "lines[0].label", Code: "required", Message: "is required"}}},
		{"label of 500 characters", func(in *NewOrderInput) { in.Lines[0].Label = strings.Repeat("€", 500) }, nil},
		{"label of 501 characters", func(in *NewOrderInput) { in.Lines[0].Label = strings.Repeat("x", 501) },
			[]validation.FieldError{{Field: "lines[0].label", Code: "max", Message: "must be at most 500 characters"}}},

		{"external reference of 100 characters", func(in *NewOrderInput) { in.ExternalReference = strings.Repeat("x", 100) }, nil},
		{"external reference of 101 characters", func(in *NewOrderInput) { in.ExternalReference = strings.Repeat("x", 101) },
			[]validation.FieldError{{Field: "external_reference", Code: "max", Message: "must be at most 100 characters"}}},

		{"errors on a later line name its index", func(in *NewOrderInput) {
			in.Lines = lines(3)
			in.Lines[2].Quantity = 0
		}, []validation.FieldError{{Field: "lines[2].quantity", Code: "min", Message: "must be at least 1"}}},
		{"every broken field is listed, in order", func(in *NewOrderInput) {
			*in = NewOrderInput{Lines: []LineInput{{VATRate: rate(1)}, validLine(), {Reference: "R", Label: "L", Quantity: 1001, UnitPriceExclVAT: 1e9}}}
		}, []validation.FieldError{
			{Field: "buyer_id", Code: "required", Message: "is required"},
			{Field: "center_id", Code: "required", Message: "is required"},
			{Field: "delivery_mode", Code: "required", Message: "is required"},
			{Field: "lines[0].reference", Code: "required", Message: "is required"},
			{Field: "lines[0].label", Code: "required", Message: "is required"},
			{Field: "lines[0].quantity", Code: "min", Message: "must be at least 1"},
			{Field: "lines[0].unit_price_excl_vat", Code: "min", Message: "must be at least 1 cent"},
			{Field: "lines[0].vat_rate", Code: "oneof", Message: "must be one of 0, 550, 1000, 2000 (basis points)"},
			{Field: "lines[2].quantity", Code: "max", Message: "must be at most 1000"},
			{Field: "lines[2].unit_price_excl_vat", Code: "max", Message: "must be at most 100000000 cents"},
		}},
		{"101 lines with a bad one reports both", func(in *NewOrderInput) {
			in.Lines = lines(101)
			in.Lines[100].Label = ""
		}, []validation.FieldError{
			{Field: "lines", Code: "max", Message: "must have at most 100 lines"},
			{Field: "lines[100].label", Code: "required", Message: "is required"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.modify(&in)
			o, err := NewOrder(in, "ord_1", t0)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewOrder: unexpected error %v", err)
				}
				if o.Status != StatusPaymentPending {
					t.Errorf("Status = %q, want payment_pending", o.Status)
				}
				return
			}
			var verr *validation.Error
			if !errors.As(err, &verr) {
				t.Fatalf("NewOrder error = %v, want a *validation.Error", err)
			}
			if !errors.Is(err, validation.ErrInvalid) {
				t.Errorf("errors.Is(err, validation.ErrInvalid) = false")
			}
			if diff := cmp.Diff(tt.want, verr.Fields); diff != "" {
				t.Errorf("field errors mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Order{}, o); diff != "" {
				t.Errorf("order returned with an error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewOrderDefaultsVATRate(t *testing.T) {
	o, err := NewOrder(validInput(), "ord_1", t0)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if o.Lines[0].VATRate != 2000 {
		t.Errorf("VATRate = %d, want the default 2000", o.Lines[0].VATRate)
	}
}

func TestOrderTransitions(t *testing.T) {
	statuses := []Status{StatusPaymentPending, StatusConfirmed, StatusCancelled, StatusRefunded, "", "archived"}
	type outcome struct {
		err    error // nil: allowed
		status Status
	}
	tests := []struct {
		name string
		do   func(*Order) error
		want map[Status]outcome
	}{
		{"Cancel", func(o *Order) error { return o.Cancel(t1) }, map[Status]outcome{
			StatusPaymentPending: {nil, StatusCancelled},
			StatusConfirmed:      {ErrNotDeletable, StatusConfirmed},
			StatusCancelled:      {ErrNotDeletable, StatusCancelled},
			StatusRefunded:       {ErrNotDeletable, StatusRefunded},
			"":                   {ErrInvalidTransition, ""},
			"archived":           {ErrInvalidTransition, "archived"},
		}},
		{"Confirm", func(o *Order) error { return o.Confirm(t1) }, map[Status]outcome{
			StatusPaymentPending: {nil, StatusConfirmed},
			StatusConfirmed:      {ErrNotPayable, StatusConfirmed},
			StatusCancelled:      {ErrNotPayable, StatusCancelled},
			StatusRefunded:       {ErrNotPayable, StatusRefunded},
			"":                   {ErrInvalidTransition, ""},
			"archived":           {ErrInvalidTransition, "archived"},
		}},
		{"CheckPayable", func(o *Order) error { return o.CheckPayable() }, map[Status]outcome{
			StatusPaymentPending: {nil, StatusPaymentPending},
			StatusConfirmed:      {ErrNotPayable, StatusConfirmed},
			StatusCancelled:      {ErrNotPayable, StatusCancelled},
			StatusRefunded:       {ErrNotPayable, StatusRefunded},
			"":                   {ErrInvalidTransition, ""},
			"archived":           {ErrInvalidTransition, "archived"},
		}},
		{"CheckDeletable", func(o *Order) error { return o.CheckDeletable() }, map[Status]outcome{
			StatusPaymentPending: {nil, StatusPaymentPending},
			StatusConfirmed:      {ErrNotDeletable, StatusConfirmed},
			StatusCancelled:      {ErrNotDeletable, StatusCancelled},
			StatusRefunded:       {ErrNotDeletable, StatusRefunded},
			"":                   {ErrInvalidTransition, ""},
			"archived":           {ErrInvalidTransition, "archived"},
		}},
		{"MarkRefunded", func(o *Order) error { return o.MarkRefunded(t1) }, map[Status]outcome{
			StatusPaymentPending: {ErrInvalidTransition, StatusPaymentPending},
			StatusConfirmed:      {nil, StatusRefunded},
			StatusCancelled:      {ErrInvalidTransition, StatusCancelled},
			StatusRefunded:       {ErrInvalidTransition, StatusRefunded},
			"":                   {ErrInvalidTransition, ""},
			"archived":           {ErrInvalidTransition, "archived"},
		}},
	}
	for _, tt := range tests {
		for _, from := range statuses {
			t.Run(tt.name+"/from_"+string(from), func(t *testing.T) {
				o, err := NewOrder(validInput(), "ord_1", t0)
				if err != nil {
					t.Fatalf("NewOrder: %v", err)
				}
				o.Status = from
				before := o
				want := tt.want[from]

				err = tt.do(&o)
				if !errors.Is(err, want.err) || (want.err == nil && err != nil) {
					t.Fatalf("error = %v, want %v", err, want.err)
				}
				if o.Status != want.status {
					t.Errorf("Status = %q, want %q", o.Status, want.status)
				}
				changed := want.err == nil && want.status != from
				wantUpdated := t0
				if changed {
					wantUpdated = t1
				}
				if !o.UpdatedAt.Equal(wantUpdated) {
					t.Errorf("UpdatedAt = %v, want %v", o.UpdatedAt, wantUpdated)
				}
				if !changed {
					if diff := cmp.Diff(before, o); diff != "" {
						t.Errorf("order changed (-before +after):\n%s", diff)
					}
				}
			})
		}
	}
}

func TestAddDeliveryNote(t *testing.T) {
	tests := []struct {
		name     string
		status   Status
		kind     DeliveryNoteKind
		number   string
		wantErr  error
		wantFlds []validation.FieldError
	}{
		{name: "BL on a confirmed order", status: StatusConfirmed, kind: DeliveryNoteBL, number: "BL-2026-001"},
		{name: "BR on a confirmed order", status: StatusConfirmed, kind: DeliveryNoteBR, number: strings.Repeat("9", 100)},
		{name: "pending order", status: StatusPaymentPending, kind: DeliveryNoteBL, number: "1", wantErr: ErrNotConfirmed},
		{name: "cancelled order", status: StatusCancelled, kind: DeliveryNoteBR, number: "1", wantErr: ErrNotConfirmed},
		{name: "no kind", status: StatusConfirmed, number: "1", wantErr: validation.ErrInvalid,
			wantFlds: []validation.FieldError{{Field: "kind", Code: "required", Message: "is required"}}},
		{name: "unknown kind", status: StatusConfirmed, kind: "bl", number: "1", wantErr: validation.ErrInvalid,
			wantFlds: []validation.FieldError{{Field: "kind", Code: "oneof", Message: `must be "BL" or "BR"`}}},
		{name: "blank number", status: StatusConfirmed, kind: DeliveryNoteBL, number: " ", wantErr: validation.ErrInvalid,
			wantFlds: []validation.FieldError{{Field: "number", Code: "required", Message: "is required"}}},
		{name: "number too long", status: StatusConfirmed, kind: DeliveryNoteBL, number: strings.Repeat("9", 101), wantErr: validation.ErrInvalid,
			wantFlds: []validation.FieldError{{Field: "number", Code: "max", Message: "must be at most 100 characters"}}},
		{name: "validation comes before status", status: StatusPaymentPending, kind: "XX", number: "", wantErr: validation.ErrInvalid,
			wantFlds: []validation.FieldError{
				{Field: "kind", Code: "oneof", Message: `must be "BL" or "BR"`},
				{Field: "number", Code: "required", Message: "is required"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := NewOrder(validInput(), "ord_1", t0)
			if err != nil {
				t.Fatalf("NewOrder: %v", err)
			}
			o.Status = tt.status
			before := o

			n, err := o.AddDeliveryNote(tt.kind, tt.number, t1)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				var verr *validation.Error
				if errors.As(err, &verr) {
					if diff := cmp.Diff(tt.wantFlds, verr.Fields); diff != "" {
						t.Errorf("field errors mismatch (-want +got):\n%s", diff)
					}
				}
				if diff := cmp.Diff(before, o); diff != "" {
					t.Errorf("order changed on error (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("AddDeliveryNote: %v", err)
			}
			want := DeliveryNote{Kind: tt.kind, Number: tt.number, CreatedAt: t1}
			if diff := cmp.Diff(want, n); diff != "" {
				t.Errorf("note mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]DeliveryNote{want}, o.DeliveryNotes); diff != "" {
				t.Errorf("DeliveryNotes mismatch (-want +got):\n%s", diff)
			}
			if !o.UpdatedAt.Equal(t1) {
				t.Errorf("UpdatedAt = %v, want %v", o.UpdatedAt, t1)
			}
		})
	}
}

func TestValidEnums(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  bool
		want bool
	}{
		{"payment_pending", StatusPaymentPending.Valid(), true},
		{"confirmed", StatusConfirmed.Valid(), true},
		{"cancelled", StatusCancelled.Valid(), true},
		{"canceled (payment spelling) is not an order status", Status("canceled").Valid(), false},
		{"empty status", Status("").Valid(), false},
		{"delivery", DeliveryModeDelivery.Valid(), true},
		{"pickup", DeliveryModePickup.Valid(), true},
		{"empty mode", DeliveryMode("").Valid(), false},
		{"BL", DeliveryNoteBL.Valid(), true},
		{"BR", DeliveryNoteBR.Valid(), true},
		{"lower-case bl", DeliveryNoteKind("bl").Valid(), false},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: Valid() = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
