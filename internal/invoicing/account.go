// Package invoicing holds the rules of end-of-month invoicing by the selling
// centre ("facturation fin de mois"): the invoicing account a buyer asks a
// centre for, the delivery notes (BL/BR) the centre attaches to its orders, the
// monthly statement that lists those orders, and the statement's CSV and PDF
// exports.
//
// The types and functions in account.go, statement.go, export_csv.go and
// export_pdf.go are pure: no storage, no HTTP, no clock (times are passed in).
package invoicing

import (
	"github.com/vhupay/vhupay/internal/detail"

	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var (
	// ErrInvalidTransition is returned when a state change is not allowed from
	// the current status of an account or a statement.
	ErrInvalidTransition = errors.New("invalid transition")

	// ErrAccountExists is returned when a buyer asks a centre for invoicing while
	// a live account (pending or approved) already exists for that pair.
	ErrAccountExists = errors.New("a live invoicing account already exists for this buyer and centre")

	// ErrNotApproved is returned when an order is paid by end-of-month invoice
	// and the buyer has no approved invoicing account with the order's centre.
	ErrNotApproved = errors.New("no approved invoicing account for this buyer and centre")

	// ErrDeliveryNoteExists is returned when a centre attaches a delivery note
	// whose number it has already used.
	ErrDeliveryNoteExists = errors.New("delivery note number already used by this centre")

	// ErrOrderNotConfirmed is returned when a delivery note is attached to an
	// order that is not confirmed.
	ErrOrderNotConfirmed = errors.New("order not confirmed")

	// ErrInvalidDeliveryNote is wrapped by every *FieldError that
	// ValidateDeliveryNote returns.
	ErrInvalidDeliveryNote = errors.New("invalid delivery note")
)

// AccountStatus is the state of an invoicing account.
type AccountStatus string

// The statuses of an invoicing account. Pending and approved accounts are
// live; rejected and revoked are final (the buyer may ask again, which creates
// a new account).
const (
	AccountPending  AccountStatus = "pending"
	AccountApproved AccountStatus = "approved"
	AccountRejected AccountStatus = "rejected"
	AccountRevoked  AccountStatus = "revoked"
)

// Account is a buyer's end-of-month invoicing arrangement with one centre.
// Its status only changes through Approve, Reject and Revoke.
type Account struct {
	ID        string
	BuyerID   string
	CenterID  string
	Status    AccountStatus
	Note      string     // the note given with the latest decision, if any
	CreatedAt time.Time  // when the buyer asked
	DecidedAt *time.Time // when the latest decision (approve, reject, revoke) was taken; nil while pending
}

// NewAccount returns the pending account a buyer creates when it asks centerID
// for end-of-month invoicing. The caller guarantees, through storage, that no
// other live account exists for the pair (else ErrAccountExists).
func NewAccount(id, buyerID, centerID string, at time.Time) Account {
	return Account{ID: id, BuyerID: buyerID, CenterID: centerID, Status: AccountPending, CreatedAt: at}
}

// IsLive reports whether the account blocks a new request for the same pair:
// true when it is pending or approved.
func (a Account) IsLive() bool {
	return a.Status == AccountPending || a.Status == AccountApproved
}

// EnsureApproved returns nil when the account allows paying by end-of-month
// invoice (status approved), and an error wrapping ErrNotApproved otherwise.
func (a Account) EnsureApproved() error {
	if a.Status != AccountApproved {
		return fmt.Errorf("invoicing account %s is %s: %w", a.ID, a.Status, ErrNotApproved)
	}
	return nil
}

// Approve moves a pending account to approved, recording note and at.
// From any other status it returns an error wrapping ErrInvalidTransition and
// leaves the account unchanged.
func (a *Account) Approve(note string, at time.Time) error {
	return a.decide(AccountPending, AccountApproved, note, at)
}

// Reject moves a pending account to rejected, recording note and at.
// From any other status it returns an error wrapping ErrInvalidTransition and
// leaves the account unchanged.
func (a *Account) Reject(note string, at time.Time) error {
	return a.decide(AccountPending, AccountRejected, note, at)
}

// Revoke moves an approved account to revoked, recording note and at; the
// note and decision time of the approval are replaced. Payments already
// accepted stay on their statement. From any other status it returns an error
// wrapping ErrInvalidTransition and leaves the account unchanged.
func (a *Account) Revoke(note string, at time.Time) error {
	return a.decide(AccountApproved, AccountRevoked, note, at)
}

func (a *Account) decide(from, to AccountStatus, note string, at time.Time) error {
	if a.Status != from {
		return detail.Wrap(fmt.Errorf("invoicing account %s from %s to %s: %w", a.ID, a.Status, to, ErrInvalidTransition),
			"The invoicing account is %s; it can become %s only from %s. Read it for its current status.", a.Status, to, from)
	}
	a.Status = to
	a.Note = note
	a.DecidedAt = &at
	return nil
}

// NoteKind is the kind of a delivery note.
type NoteKind string

// The kinds of delivery note: a BL (bon de livraison) when the part was
// delivered, a BR (bon de retrait) when the buyer picked it up.
const (
	NoteBL NoteKind = "BL"
	NoteBR NoteKind = "BR"
)

// MaxDeliveryNoteNumberLen is the largest number of characters (runes) in a
// delivery note number, after trimming.
const MaxDeliveryNoteNumberLen = 64

// DeliveryNote is a BL or BR the seller attached to a confirmed order. Its
// number is unique per centre, whatever its kind.
type DeliveryNote struct {
	Kind      NoteKind
	Number    string
	CreatedAt time.Time
}

// FieldError is one invalid input field. It wraps ErrInvalidDeliveryNote.
type FieldError struct {
	Field   string // the request field: "kind" or "number"
	Code    string // a short machine code: "required", "oneof", "max", "printable"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap lets errors.Is(err, ErrInvalidDeliveryNote) match.
func (e *FieldError) Unwrap() error { return ErrInvalidDeliveryNote }

// ValidateDeliveryNote checks a delivery note as a centre submits it. Rules:
//   - kind is exactly "BL" or "BR" (case-sensitive, as in the API contract);
//   - number, once surrounding white space is trimmed (strings.TrimSpace), has
//     1 to MaxDeliveryNoteNumberLen characters (runes, not bytes), is valid
//     UTF-8, and every character is printable in the sense of unicode.IsPrint:
//     letters, marks, digits, punctuation, symbols and the ASCII space; tabs,
//     line breaks, other control characters and non-ASCII spaces are refused.
//
// It returns nil, or the *FieldError of each invalid field joined with
// errors.Join (errors.Is(err, ErrInvalidDeliveryNote) holds; errors.As finds
// the first). Use NewDeliveryNote to also get the trimmed number.
func ValidateDeliveryNote(kind, number string) error {
	var errs []error
	switch NoteKind(kind) {
	case NoteBL, NoteBR:
	case "":
		errs = append(errs, &FieldError{Field: "kind", Code: "required", Message: `kind is required ("BL" or "BR")`})
	default:
		errs = append(errs, &FieldError{Field: "kind", Code: "oneof", Message: `kind must be "BL" or "BR"`})
	}
	if err := validateNoteNumber(strings.TrimSpace(number)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validateNoteNumber(n string) error {
	switch {
	case n == "":
		return &FieldError{Field: "number", Code: "required", Message: "number is required"}
	case !utf8.ValidString(n):
		return &FieldError{Field: "number", Code: "printable", Message: "number must be valid UTF-8"}
	case utf8.RuneCountInString(n) > MaxDeliveryNoteNumberLen:
		return &FieldError{Field: "number", Code: "max", Message: fmt.Sprintf("number must have at most %d characters", MaxDeliveryNoteNumberLen)}
	}
	for _, r := range n {
		if !unicode.IsPrint(r) {
			return &FieldError{Field: "number", Code: "printable", Message: "number must contain only printable characters"}
		}
	}
	return nil
}

// NewDeliveryNote validates kind and number with ValidateDeliveryNote and
// returns the note with its number trimmed. Errors are those of
// ValidateDeliveryNote. Uniqueness (ErrDeliveryNoteExists) and the order's
// status (ErrOrderNotConfirmed) are checked by the caller, against storage.
func NewDeliveryNote(kind, number string, at time.Time) (DeliveryNote, error) {
	if err := ValidateDeliveryNote(kind, number); err != nil {
		return DeliveryNote{}, err
	}
	return DeliveryNote{Kind: NoteKind(kind), Number: strings.TrimSpace(number), CreatedAt: at}, nil
}
