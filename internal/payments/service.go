package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/money"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Errors of the payments service. Each maps to the API error code of the same meaning.
var (
	// ErrNotFound: no such intent, or one the caller may not see (not_found).
	ErrNotFound = errors.New("payment intent not found")
	// ErrCardBlocked: the card was blocked after failed authentications (card_blocked).
	ErrCardBlocked = errors.New("card is blocked")
	// ErrCardInactive: the card was deleted (card_inactive).
	ErrCardInactive = errors.New("card is inactive")
	// ErrNoProvider: this process has no payment provider; wraps psp.ErrUnavailable (psp_unavailable).
	ErrNoProvider = fmt.Errorf("no payment provider is configured: %w", psp.ErrUnavailable)
	// ErrProviderRefused: the provider refused a request vhupay built; wraps psp.ErrUnavailable,
	// since the caller can do nothing about it (psp_unavailable).
	ErrProviderRefused = fmt.Errorf("the payment provider refused the request: %w", psp.ErrUnavailable)
	// ErrCollectionNotPayable: the collection to pay by card is not failed (collection_not_payable).
	ErrCollectionNotPayable = errors.New("the collection is not payable: only a failed collection may be paid by card")
)

// Orders reads the orders to pay.
type Orders interface {
	// OrderToPay returns, in one read, an order (at least its id, buyer, status and total) with
	// whether it has open intents and its version; orders.ErrNotFound when there is no such order.
	OrderToPay(ctx context.Context, id string) (OrderToPay, error)
}

// OrderToPay is an order read to be paid, with what the payment's write needs to know.
type OrderToPay struct {
	orders.Order
	// HasOpenIntents: the order had a requires_action or processing intent when it was read.
	HasOpenIntents bool
	// Version identifies the order's row as it was read (opaque; empty when the store keeps no
	// versions). Tx.ConfirmUnchanged writes only while the order is still at this version.
	Version string
}

// Payers gives each buyer's identity at the provider.
type Payers interface {
	// Ensure returns the buyer's payer, creating it at the provider when missing.
	Ensure(ctx context.Context, buyerID string) (payers.Payer, error)
}

// Config is what a Service needs. Provider may be nil (a process without a payment provider):
// card payments, card registrations and refreshes then fail with ErrNoProvider.
type Config struct {
	Store    Store
	Orders   Orders
	Payers   Payers
	Provider psp.Provider
	Clock    clock.Clock
	Log      *slog.Logger
	// IntentExpiry is how long a card intent may wait in requires_action (default 30 minutes).
	IntentExpiry time.Duration
	// Methods pays by sepa_debit and vhu_invoice; a method without a handler is refused with a
	// validation error on "method". Card is built in.
	Methods map[Method]MethodHandler
	// Refunds schedules the retries of refunds (nil: a failed refund waits for the pay-in's next
	// notification).
	Refunds RefundQueue
	// RefundTimeout bounds the compensation (recording and refunding a pay-in nobody may keep),
	// which runs detached from the caller's context (default 30 s).
	RefundTimeout time.Duration
	// UnsentAfter is how long a card intent may stay processing with no pay-in found at the
	// provider before it is canceled as never charged (default 2 minutes: longer than a provider
	// call may take).
	UnsentAfter time.Duration
	// SweepWindow is how far back SweepPayIns looks for succeeded pay-ins (default 48 hours).
	SweepWindow time.Duration
	// Metrics counts what SweepPayIns finds (nil: not counted).
	Metrics Metrics
	// OneTrip records sepa_debit payments with an Idempotency-Key's answer in two round trips
	// and one commit when nothing stands in the way (nil: always the general path).
	OneTrip OneTrip
}

// Service creates, reads, refreshes, cancels and expires payment intents, and manages cards.
type Service struct {
	store         Store
	orders        Orders
	payers        Payers
	provider      psp.Provider
	clock         clock.Clock
	log           *slog.Logger
	expiry        time.Duration
	methods       map[Method]MethodHandler
	refundTimeout time.Duration
	refunds       RefundQueue
	unsentAfter   time.Duration
	sweepWindow   time.Duration
	metrics       Metrics
	oneTrip       OneTrip
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	s := &Service{store: cfg.Store, orders: cfg.Orders, payers: cfg.Payers, provider: cfg.Provider, clock: cfg.Clock,
		log: cfg.Log, expiry: cfg.IntentExpiry, methods: map[Method]MethodHandler{},
		refundTimeout: cfg.RefundTimeout, refunds: cfg.Refunds, unsentAfter: cfg.UnsentAfter, sweepWindow: cfg.SweepWindow,
		metrics: cfg.Metrics, oneTrip: cfg.OneTrip}
	for m, h := range cfg.Methods {
		if h != nil && m != MethodCard {
			s.methods[m] = h
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.expiry <= 0 {
		s.expiry = 30 * time.Minute
	}
	if s.refundTimeout <= 0 {
		s.refundTimeout = 30 * time.Second
	}
	if s.unsentAfter <= 0 {
		s.unsentAfter = 2 * time.Minute
	}
	if s.sweepWindow <= 0 {
		s.sweepWindow = 48 * time.Hour
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	return s
}

// CreateInput is a request to pay an order.
type CreateInput struct {
	BuyerID string // admin and service: the buyer acted for; a buyer: empty or itself
	OrderID string
	// CollectionID (method card, no OrderID): the buyer's failed SEPA collection to pay by card.
	CollectionID string
	Method       Method
	Card         CardInput // method card only
	// RequestKey fingerprints the request's Idempotency-Key with its caller (see RequestKey);
	// empty without one. A card request retried with the same key resumes the intent the first
	// run created instead of charging again.
	RequestKey string
	// Answer, when set, keeps the request's Idempotency-Key record with its answer in the payment's
	// own unit of work (sepa_debit and vhu_invoice; a card payment ignores it): one commit for the
	// payment and the answer its retries replay. When the key already holds a record, nothing is
	// written and Create returns idempotency.ErrTaken.
	Answer *Answer
}

// Answer is the Idempotency-Key record of a payment request, written with the payment.
type Answer struct {
	// Record is the key's record (scope, key, request hash, created_at, locked_until,
	// expires_at); its Response is Render's.
	Record idempotency.Record
	// Render gives the answer to the request as it will be sent, from the accepted intent.
	Render func(pi Intent) (idempotency.Response, error)
}

// CardInput is what a card payment needs beyond the order.
type CardInput struct {
	CardID    string
	ReturnURL string
	// Browser describes the buyer's browser for 3-D Secure; nil fields take defaults (see
	// DefaultBrowserInfo), UserAgent and AcceptHeader defaulting to the request's own.
	Browser BrowserInput
	// IPAddress is the buyer's IP; empty means RequestIP.
	IPAddress string
	// What the HTTP request itself says, used as defaults.
	RequestIP        string
	RequestUserAgent string
}

// BrowserInput is the client's description of the buyer's browser; nil means "use the default".
type BrowserInput struct {
	AcceptHeader      *string
	JavaEnabled       *bool
	JavascriptEnabled *bool
	Language          *string
	ColorDepth        *int
	ScreenHeight      *int
	ScreenWidth       *int
	TimeZoneOffset    *int
	UserAgent         *string
}

// DefaultBrowserInfo is used for the fields a client leaves out: a desktop browser in France.
var DefaultBrowserInfo = psp.BrowserInfo{
	AcceptHeader:      "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	JavaEnabled:       false,
	JavascriptEnabled: true,
	Language:          "fr-FR",
	ColorDepth:        24,
	ScreenHeight:      1080,
	ScreenWidth:       1920,
	TimeZoneOffset:    -60,
	UserAgent:         "Mozilla/5.0",
}

// MaxProviderReturnURLLength is the longest return URL (with ?payment_intent=<id> added) the
// provider accepts.
const MaxProviderReturnURLLength = 255

var (
	languagePattern = regexp.MustCompile(`^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`)
	colorDepths     = map[int]bool{1: true, 4: true, 8: true, 15: true, 16: true, 24: true, 30: true, 32: true, 48: true}
)

// validateCard checks a card payment's fields and returns the browser info and IP to send.
func validateCard(in CardInput, errs *validation.Collector) (psp.BrowserInfo, string) {
	if strings.TrimSpace(in.CardID) == "" {
		errs.Add("card_id", "required", "is required for method card")
	}
	if in.ReturnURL == "" {
		errs.Add("return_url", "required", "is required for method card")
	} else if err := ValidateReturnURL(in.ReturnURL); err != nil {
		errs.Add("return_url", "invalid", strings.TrimPrefix(err.Error(), ErrInvalidReturnURL.Error()+": "))
	} else if u, _ := ReturnURLFor(in.ReturnURL, id.New(id.PaymentIntent)); len(u) > MaxProviderReturnURLLength {
		errs.Add("return_url", "max", fmt.Sprintf("is too long: with ?payment_intent=<id> added it must fit in %d bytes", MaxProviderReturnURLLength))
	}
	b := DefaultBrowserInfo
	if ua := in.RequestUserAgent; ua != "" {
		b.UserAgent = ua
	}
	if len(b.UserAgent) > 255 {
		b.UserAgent = b.UserAgent[:255]
	}
	bi := in.Browser
	if bi.AcceptHeader != nil {
		if *bi.AcceptHeader == "" || len(*bi.AcceptHeader) > 2048 {
			errs.Add("browser_info.accept_header", "invalid", "must be 1 to 2048 characters")
		}
		b.AcceptHeader = *bi.AcceptHeader
	}
	if bi.JavaEnabled != nil {
		b.JavaEnabled = *bi.JavaEnabled
	}
	if bi.JavascriptEnabled != nil {
		b.JavascriptEnabled = *bi.JavascriptEnabled
	}
	if bi.Language != nil {
		if !languagePattern.MatchString(*bi.Language) {
			errs.Add("browser_info.language", "format", `must be a language tag such as "fr" or "fr-FR"`)
		}
		b.Language = *bi.Language
	}
	if bi.ColorDepth != nil {
		if !colorDepths[*bi.ColorDepth] {
			errs.Add("browser_info.color_depth", "oneof", "must be one of 1, 4, 8, 15, 16, 24, 30, 32, 48")
		}
		b.ColorDepth = *bi.ColorDepth
	}
	for _, d := range []struct {
		field string
		v     *int
		dst   *int
	}{{"browser_info.screen_height", bi.ScreenHeight, &b.ScreenHeight}, {"browser_info.screen_width", bi.ScreenWidth, &b.ScreenWidth}} {
		if d.v != nil {
			if *d.v < 1 || *d.v > 100000 {
				errs.Add(d.field, "range", "must be from 1 to 100000 pixels")
			}
			*d.dst = *d.v
		}
	}
	if bi.TimeZoneOffset != nil {
		if *bi.TimeZoneOffset < -840 || *bi.TimeZoneOffset > 840 {
			errs.Add("browser_info.time_zone_offset", "range", "must be from -840 to 840 minutes")
		}
		b.TimeZoneOffset = *bi.TimeZoneOffset
	}
	if bi.UserAgent != nil {
		if *bi.UserAgent == "" || len(*bi.UserAgent) > 255 {
			errs.Add("browser_info.user_agent", "invalid", "must be 1 to 255 characters")
		}
		b.UserAgent = *bi.UserAgent
	}
	ip := in.IPAddress
	if ip != "" {
		if net.ParseIP(ip) == nil {
			errs.Add("ip_address", "format", "must be an IPv4 or IPv6 address")
		}
	} else {
		ip = in.RequestIP
	}
	if net.ParseIP(ip) == nil {
		ip = "127.0.0.1"
	}
	return b, ip
}

// Create pays an order: it validates the request, cancels the order's earlier open intent and
// writes the new intent, confirming the order in the same transaction when the payment is
// secured (succeeded) or accepted for later collection (scheduled).
//
// Card (card.go): the intent is written processing first, then the provider is called outside
// any transaction with a key derived from the intent id, then one short transaction writes
// requires_action (3-D Secure needed), succeeded (and the order confirmed) or failed. A provider
// refusal cancels the intent; an outage or a lost answer leaves it processing, resumed later to
// exactly one outcome. A request retried with the same RequestKey resumes its intent.
//
// Errors: *validation.Error (fields "buyer_id", "order_id" — unknown or not this buyer's —,
// "method", "card_id" — unknown or not this buyer's —, "return_url", "browser_info.*",
// "ip_address"); orders.ErrNotPayable; ErrCardBlocked; ErrCardInactive; psp.ErrUnavailable
// (ErrNoProvider, ErrProviderRefused); a method handler's own refusals.
func (s *Service) Create(ctx context.Context, who auth.Principal, in CreateInput) (Intent, error) {
	buyerID, err := orders.ActingBuyer(who, in.BuyerID)
	if err != nil {
		return Intent{}, err
	}
	var errs validation.Collector
	switch {
	case in.CollectionID != "" && in.OrderID != "":
		errs.Add("collection_id", "excluded", "pays a collection: leave order_id out")
	case in.CollectionID != "" && in.Method != MethodCard && in.Method != "":
		errs.Add("method", "oneof", "a collection is paid by card")
	case in.CollectionID == "" && strings.TrimSpace(in.OrderID) == "":
		errs.Add("order_id", "required", "is required")
	}
	var browser psp.BrowserInfo
	var ip string
	switch {
	case in.Method == "":
		errs.Add("method", "required", "is required")
	case !in.Method.Valid():
		errs.Add("method", "oneof", "must be one of: card, sepa_debit, vhu_invoice")
	case in.Method == MethodCard:
		browser, ip = validateCard(in.Card, &errs)
	case s.methods[in.Method] == nil:
		errs.Add("method", "unavailable", fmt.Sprintf("%s is not available on this server yet", in.Method))
	}
	if err := errs.Err(); err != nil {
		return Intent{}, err
	}
	if in.Method == MethodCard && in.RequestKey != "" {
		if pi, ok, err := s.resumeRequest(ctx, buyerID, in, browser, ip); ok || err != nil {
			return pi, err
		}
	}
	if in.CollectionID != "" {
		return s.payCollection(ctx, buyerID, in, browser, ip)
	}
	if in.Method == MethodSEPADebit && in.Answer != nil && s.oneTrip != nil {
		if pi, ok, err := s.payOneTrip(ctx, buyerID, in); ok || err != nil {
			return pi, err
		}
	}
	read, err := s.orders.OrderToPay(ctx, in.OrderID)
	order := read.Order
	if errors.Is(err, orders.ErrNotFound) || (err == nil && order.BuyerID != buyerID) {
		return Intent{}, validation.Field("order_id", "unknown", "no such order for this buyer")
	}
	if err != nil {
		return Intent{}, err
	}
	if err := order.CheckPayable(); err != nil {
		return Intent{}, err
	}
	// An order read without open intents has none to refresh; its version then lets the write
	// skip the cancellation of open intents as long as the order did not change meanwhile (an
	// intent is only ever opened by a transaction that also updates the order's row).
	version := read.Version
	if read.HasOpenIntents {
		version = ""
		if err := s.settleOpenIntents(ctx, order.ID); err != nil {
			return Intent{}, err
		}
	}
	now := s.clock.Now()
	pi := Intent{ID: id.New(id.PaymentIntent), OrderID: order.ID, BuyerID: order.BuyerID, Amount: order.Total,
		Currency: money.EUR, Method: in.Method, CreatedAt: now, UpdatedAt: now}
	if in.Method == MethodCard {
		return s.payByCard(ctx, pi, in.Card, in.RequestKey, browser, ip)
	}
	h := s.methods[in.Method]
	err = h.inTx(ctx, order, &pi, func(tx Tx, accept func() error) error {
		if err := s.pickMonth(ctx, tx, &pi); err != nil {
			return err
		}
		if err := accept(); err != nil {
			return err
		}
		if pi.Status != StatusScheduled && pi.Status != StatusSucceeded {
			return fmt.Errorf("%s handler accepted intent %s with status %q", pi.Method, pi.ID, pi.Status)
		}
		if err := s.record(ctx, tx, &pi, false, version); err != nil {
			return err
		}
		return keepAnswer(ctx, tx, in.Answer, pi)
	})
	if err != nil {
		return Intent{}, err
	}
	return pi, nil
}

// keepAnswer writes the request's idempotency record with its answer, when it has one.
func keepAnswer(ctx context.Context, tx Tx, a *Answer, pi Intent) error {
	if a == nil {
		return nil
	}
	r, err := a.Render(pi)
	if err != nil {
		return fmt.Errorf("render the answer of intent %s: %w", pi.ID, err)
	}
	rec := a.Record
	rec.Done, rec.Response = true, r
	kept, err := tx.KeepAnswer(ctx, rec)
	if err != nil {
		return fmt.Errorf("keep the answer of intent %s: %w", pi.ID, err)
	}
	if !kept {
		return idempotency.ErrTaken
	}
	return nil
}

// pickMonth gives a deferred payment, inside its unit of work, its instant and the month it
// counts in (see Tx.PickMonth); without month gates, the Europe/Paris month of its CreatedAt.
func (s *Service) pickMonth(ctx context.Context, tx Tx, pi *Intent) error {
	at, month, err := tx.PickMonth(ctx, pi.CreatedAt)
	if err != nil {
		return fmt.Errorf("pick the month of intent %s: %w", pi.ID, err)
	}
	if month == "" {
		pi.CollectionMonth = clock.MonthOf(pi.CreatedAt)
		return nil
	}
	if at.After(pi.CreatedAt) { // the instant read in the transaction; never earlier than this process's
		pi.CreatedAt, pi.UpdatedAt = at, at
	}
	pi.CollectionMonth = month
	return nil
}

// settleOpenIntents refreshes the order's open card intents from the provider before a new
// payment replaces them, so that a 3-D Secure completed meanwhile confirms the order instead of
// being charged twice. It returns orders.ErrNotPayable when that happened, or when a payment is
// still processing at the provider (money in flight). When the provider does not answer, the open
// intents are left to be canceled: a late success is refunded when its notification comes.
func (s *Service) settleOpenIntents(ctx context.Context, orderID string) error {
	open, err := s.store.OpenIntents(ctx, orderID)
	if err != nil {
		return err
	}
	for _, pi := range open {
		got, err := s.refresh(ctx, pi)
		if errors.Is(err, psp.ErrUnavailable) {
			s.log.WarnContext(ctx, "refresh the open intent before replacing it", slog.String("intent_id", pi.ID), slog.String("err", err.Error()))
		} else if err != nil {
			return err
		}
		switch {
		case got.ConfirmsOrder():
			return fmt.Errorf("intent %s secured the order meanwhile: %w", got.ID, orders.ErrNotPayable)
		case got.Status == StatusProcessing:
			return fmt.Errorf("intent %s is processing at the provider: %w", got.ID, orders.ErrNotPayable)
		}
	}
	return nil
}

// write records pi (see record) in a unit of work of its own: the card path.
func (s *Service) write(ctx context.Context, pi *Intent, blockCard bool, version string) error {
	return s.store.InTx(ctx, func(tx Tx) error { return s.record(ctx, tx, pi, blockCard, version) })
}

// record writes, in tx (after a method's own writes, when it has any): the order's confirmation
// (conditional) when pi confirms it or else a check that it is still payable, the cancellation
// of the order's earlier open intents, the card's blocking when asked, and pi's insertion.
//
// version, when not empty, is the order's version read without open intents: if pi confirms the
// order, the confirmation and the insertion are then one step (ConfirmUnchanged) that holds only
// while the order is unchanged, so that no intent can have been opened meanwhile and none needs
// cancelling; when it does not hold, the general steps run in the same transaction.
func (s *Service) record(ctx context.Context, tx Tx, pi *Intent, blockCard bool, version string) error {
	if pi.CollectionID != "" {
		return s.recordRecovery(ctx, tx, pi)
	}
	if version != "" && pi.ConfirmsOrder() && !blockCard {
		done, err := tx.ConfirmUnchanged(ctx, *pi, version)
		if err != nil {
			return err
		}
		if done {
			if err := s.earnCard(ctx, tx, *pi); err != nil {
				return err
			}
			return emitRecorded(ctx, tx, *pi)
		}
	}
	at := pi.UpdatedAt
	if pi.ConfirmsOrder() {
		if err := tx.ConfirmOrder(ctx, pi.OrderID, at); err != nil {
			return err
		}
	} else if err := tx.HoldPayableOrder(ctx, pi.OrderID, at); err != nil {
		return err
	}
	if err := cancelOpenIntents(ctx, tx, pi.OrderID, at); err != nil {
		return err
	}
	if blockCard && pi.CardID != "" {
		if err := blockAndEmit(ctx, tx, pi.CardID, at); err != nil {
			return err
		}
	}
	if err := tx.InsertIntent(ctx, *pi); err != nil {
		return err
	}
	if err := s.earnCard(ctx, tx, *pi); err != nil {
		return err
	}
	return emitRecorded(ctx, tx, *pi)
}

// emitRecorded emits the events of a newly recorded intent: its status's (none while
// processing) and order.confirmed when it confirms the order. The intent is pi as it was just
// inserted (its GET answers exactly that: the clock's instants are stored at their precision);
// the order is read once, after the unit's writes, for both events.
func emitRecorded(ctx context.Context, tx Tx, pi Intent) error {
	typ := intentEventType(pi.Status)
	if typ == "" && !pi.ConfirmsOrder() {
		return nil
	}
	o, err := tx.CurrentOrder(ctx, pi.OrderID)
	if err != nil {
		return err
	}
	if typ != "" {
		if err := tx.Emit(ctx, txn.Event{Type: typ, BuyerID: pi.BuyerID, CenterID: o.CenterID, Object: pi, At: pi.UpdatedAt}); err != nil {
			return err
		}
	}
	if pi.ConfirmsOrder() {
		return tx.Emit(ctx, txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o, At: pi.UpdatedAt})
	}
	return nil
}

// earnCard posts a card intent's earning when it succeeded, in the transaction that records it.
func (s *Service) earnCard(ctx context.Context, tx Tx, pi Intent) error {
	if pi.Method != MethodCard || pi.Status != StatusSucceeded || pi.CollectionID != "" {
		return nil // a recovery payment earns nothing: its centres were paid from the guarantee
	}
	return tx.EarnCard(ctx, pi)
}

// RefundJob retries the refund of an intent's pay-in that no order keeps, until it is recorded.
type RefundJob struct {
	IntentID string `json:"intent_id"`
}

// Kind implements txn.Job.
func (RefundJob) Kind() string { return "payment_refund" }

// RefundQueue schedules refund retries (the job queue): a RefundJob a little later, retried
// until it succeeds, once per intent while one waits.
type RefundQueue interface {
	ScheduleRefund(ctx context.Context, intentID string) error
}

// refund refunds an intent's pay-in (idempotent at the provider: the key is derived from the
// intent) and records the refund. It runs detached from the caller's context (a client hanging
// up must not stop a refund) with its own timeout. A retry job is scheduled first, so that a
// refund that fails now, or that a crash interrupts, is retried by the job queue (RetryRefund).
func (s *Service) refund(ctx context.Context, pi Intent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.refundTimeout)
	defer cancel()
	if s.refunds != nil {
		if err := s.refunds.ScheduleRefund(ctx, pi.ID); err != nil {
			s.log.ErrorContext(ctx, "schedule the retry of a refund", slog.String("intent_id", pi.ID), slog.String("err", err.Error()))
		}
	}
	if err := s.refundPayIn(ctx, pi); err != nil {
		s.log.ErrorContext(ctx, "refund a pay-in no order keeps", slog.String("intent_id", pi.ID),
			slog.String("payin_id", pi.ProviderPayInID), slog.String("err", err.Error()))
		return
	}
	s.log.InfoContext(ctx, "refunded a pay-in no order keeps", slog.String("intent_id", pi.ID), slog.String("payin_id", pi.ProviderPayInID))
}

func (s *Service) refundPayIn(ctx context.Context, pi Intent) error {
	payer, err := s.payers.Ensure(ctx, pi.BuyerID)
	if err != nil {
		return err
	}
	r, err := s.provider.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: "refund-" + pi.ID, PayInID: pi.ProviderPayInID,
		AuthorID: payer.UserID, Tag: pi.ID})
	if err != nil {
		return err
	}
	return s.store.RecordRefund(ctx, pi.ID, r.ID, s.clock.Now())
}

// RetryRefund refunds an intent's pay-in unless its refund is recorded already or the intent
// keeps the money (succeeded), or the pay-in did not succeed. An error leaves it to the job's next
// attempt. Errors: ErrNoProvider, psp.ErrUnavailable, storage errors.
func (s *Service) RetryRefund(ctx context.Context, intentID string) error {
	pi, err := s.store.Intent(ctx, intentID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	refunded, err := s.store.RefundOf(ctx, pi.ID)
	if err != nil || refunded != "" || pi.Status == StatusSucceeded || pi.IsOpen() || pi.ProviderPayInID == "" {
		return err
	}
	if s.provider == nil {
		return ErrNoProvider
	}
	p, err := s.provider.GetPayIn(ctx, pi.ProviderPayInID)
	if err != nil {
		return err
	}
	if p.Status != psp.PayInSucceeded {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.refundTimeout)
	defer cancel()
	return s.refundPayIn(ctx, pi)
}

// Intent returns an intent the caller may see (its buyer, admin, service). A card intent waiting
// for the provider is refreshed first; when the provider does not answer the stored state is
// returned. Errors: ErrNotFound.
func (s *Service) Intent(ctx context.Context, who auth.Principal, intentID string) (Intent, error) {
	pi, err := s.visibleIntent(ctx, who, intentID)
	if err != nil {
		return Intent{}, err
	}
	if pi.IsOpen() {
		got, err := s.refresh(ctx, pi)
		if err != nil {
			s.log.WarnContext(ctx, "refresh payment intent", slog.String("intent_id", pi.ID), slog.String("err", err.Error()))
			return pi, nil
		}
		return got, nil
	}
	return pi, nil
}

func (s *Service) visibleIntent(ctx context.Context, who auth.Principal, intentID string) (Intent, error) {
	pi, err := s.store.Intent(ctx, intentID)
	if err != nil {
		return Intent{}, err
	}
	if (who.Role == auth.RoleBuyer && pi.BuyerID == who.Org) || who.Privileged() {
		return pi, nil
	}
	return Intent{}, ErrNotFound
}

// Intents lists the intents the caller may see, newest first: a buyer its own, admin and service
// every buyer's (or f.BuyerID's). f.OrderID narrows to one order.
func (s *Service) Intents(ctx context.Context, who auth.Principal, f IntentFilter, p page.Request) (page.Page[Intent], error) {
	switch {
	case who.Role == auth.RoleBuyer:
		f.BuyerID = who.Org
	case who.Privileged():
	default:
		return page.Page[Intent]{Items: []Intent{}}, nil
	}
	return s.store.Intents(ctx, f, p)
}

// Cancel cancels a requires_action intent at the client's request (after refreshing it, so that
// a payment completed meanwhile is not cancelled). Errors: ErrNotFound, ErrNotCancelable.
func (s *Service) Cancel(ctx context.Context, who auth.Principal, intentID string) (Intent, error) {
	pi, err := s.Intent(ctx, who, intentID)
	if err != nil {
		return Intent{}, err
	}
	if err := pi.CheckCancelable(); err != nil {
		return Intent{}, err
	}
	var ok bool
	err = s.store.InTx(ctx, func(tx Tx) error {
		at := s.clock.Now()
		var err error
		if ok, err = tx.CancelIntent(ctx, pi.ID, at); err != nil || !ok {
			return err
		}
		return EmitIntent(ctx, tx, pi.ID, at)
	})
	if err != nil {
		return Intent{}, err
	}
	got, err := s.store.Intent(ctx, pi.ID)
	if err != nil {
		return Intent{}, err
	}
	if !ok {
		if err := got.CheckCancelable(); err != nil {
			return Intent{}, err
		}
		return Intent{}, fmt.Errorf("payment intent %s is %s: %w", got.ID, got.Status, ErrNotCancelable)
	}
	return got, nil
}

// ExpireStale cancels, with last_error expired, every intent left in requires_action longer than
// the configured expiry (by the injected clock), in one set-based update; orders stay
// payment_pending. Each expired intent's payment_intent.canceled is emitted in the same unit of
// work. It returns how many intents expired.
func (s *Service) ExpireStale(ctx context.Context) (int, error) {
	now := s.clock.Now()
	n := 0
	err := s.store.InTx(ctx, func(tx Tx) error {
		ids, err := tx.ExpireIntents(ctx, now.Add(-s.expiry), now, "3-D Secure authentication was not completed in time")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := EmitIntent(ctx, tx, id, now); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
