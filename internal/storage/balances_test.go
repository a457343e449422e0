package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/payouts"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/refunds"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// ledgerWorld is a database with three buyers and three centres at different fee rates, and the
// balances the centres should have.
type ledgerWorld struct {
	t        *testing.T
	db       *storage.DB
	buyers   []string
	centers  []string
	fees     map[string]int
	expected map[string]int64 // centre → available
	orders   int
	months   int
	payouts  *payouts.Service
	made     []string // payouts made
}

func newLedgerWorld(t *testing.T, db *storage.DB) *ledgerWorld {
	ctx := context.Background()
	w := &ledgerWorld{t: t, db: db, fees: map[string]int{}, expected: map[string]int64{}}
	p := storage.NewParties(db)
	addr := parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}
	sirens := []string{"812345676", "823456785", "834567893"}
	sirets := []string{"81234567600017", "82345678500018", "83456789300013"}
	for i := range 3 {
		b := parties.Buyer{ID: id.New(id.Buyer), Name: "Garage", SIREN: sirens[i], Email: "a@b.fr", CreatedAt: t0, Address: addr}
		c := parties.Center{ID: id.New(id.Center), Name: "CVHU", SIRET: sirets[i], Email: "c@d.fr", CreatedAt: t0, Address: addr,
			FeeRateBPS: []int{0, 500, 333}[i]}
		if err := p.CreateBuyer(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := p.CreateCenter(ctx, c); err != nil {
			t.Fatal(err)
		}
		w.buyers, w.centers = append(w.buyers, b.ID), append(w.centers, c.ID)
		w.fees[c.ID] = c.FeeRateBPS
	}
	return w
}

// order stores a payment_pending order of buyer at center for about price cents.
func (w *ledgerWorld) order(buyer, center string, price int64) orders.Order {
	w.t.Helper()
	w.orders++
	o, err := orders.NewOrder(orders.NewOrderInput{BuyerID: buyer, CenterID: center, DeliveryMode: orders.DeliveryModePickup,
		Lines: []orders.LineInput{{Reference: fmt.Sprint("R", w.orders), Label: "L", Quantity: 1, UnitPriceExclVAT: price}}},
		id.New(id.Order), t0)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := storage.NewOrders(w.db).CreateOrder(context.Background(), o); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// pay writes a succeeded (card) or scheduled (sepa_debit, collection month) intent of o as the
// payments service does: the order confirmed, the intent inserted and, for a card, its earning
// posted, in one transaction.
func (w *ledgerWorld) pay(o orders.Order, method payments.Method, month string) payments.Intent {
	w.t.Helper()
	ctx := context.Background()
	pi := intentFor(o, payments.StatusSucceeded)
	if method == payments.MethodSEPADebit {
		pi.Method, pi.Status, pi.CollectionMonth = method, payments.StatusScheduled, month
	}
	storage.NewEarnings(w.db)
	err := storage.NewPayments(w.db).InTx(ctx, func(tx payments.Tx) error {
		if err := tx.ConfirmOrder(ctx, o.ID, t0); err != nil {
			return err
		}
		if err := tx.InsertIntent(ctx, pi); err != nil {
			return err
		}
		if method == payments.MethodCard {
			return tx.EarnCard(ctx, pi)
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return pi
}

func (w *ledgerWorld) earn(center string, amount int64) {
	w.expected[center] += amount - balances.Fee(amount, w.fees[center])
}

// check holds the invariants: the trial balance is 0; each centre's available is the sum of its
// balance transactions' net and what the test expects.
func (w *ledgerWorld) check(step string) {
	w.t.Helper()
	ctx := context.Background()
	store := storage.NewBalances(w.db)
	tb, err := store.TrialBalance(ctx)
	if err != nil || tb.Total != 0 {
		w.t.Fatalf("%s: trial balance %+v, %v", step, tb, err)
	}
	for _, c := range w.centers {
		b, err := store.CenterBalance(ctx, c)
		if err != nil {
			w.t.Fatal(err)
		}
		var sum int64
		p := page.Request{Limit: 7}
		for {
			res, err := store.BalanceTransactions(ctx, balances.Filter{CenterID: c}, p)
			if err != nil {
				w.t.Fatal(err)
			}
			for _, bt := range res.Items {
				if bt.Net != bt.Gross-bt.Fee {
					w.t.Fatalf("%s: %+v: net is not gross − fee", step, bt)
				}
				sum += bt.Net
			}
			if !res.HasMore {
				break
			}
			p.After, _ = page.Decode(res.Next)
		}
		if want := w.available(c); b.Available != sum || b.Available != want || b.InTransit < 0 {
			res, _ := storage.NewPayouts(w.db).Payouts(ctx, payouts.Filter{CenterID: c}, page.Request{Limit: 100})
			w.t.Fatalf("%s: centre %s available %d, sum of its balance transactions %d, want %d (earned %d, payouts %+v)", step, c, b.Available, sum, want, w.expected[c], res.Items)
		}
	}
}

func TestLedgerCardEarning(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		o := w.order(w.buyers[0], w.centers[1], 10000) // 120.00 EUR with VAT, 5 %
		if o.Total != 12000 {
			t.Fatalf("order total %d", o.Total)
		}
		pi := w.pay(o, payments.MethodCard, "")
		w.earn(w.centers[1], o.Total)
		w.check("card")
		store := storage.NewBalances(w.db)
		got, err := store.BalanceTransactions(ctx, balances.Filter{CenterID: w.centers[1], SourceID: pi.ID}, page.Request{Limit: 10})
		if err != nil || len(got.Items) != 1 {
			t.Fatalf("balance transactions %+v, %v", got, err)
		}
		bt := got.Items[0]
		if bt.Type != balances.TypePayment || bt.Gross != 12000 || bt.Fee != 600 || bt.Net != 11400 || bt.SourceID != pi.ID {
			t.Errorf("balance transaction %+v, want payment 12000 − 600 = 11400", bt)
		}
		// Every filter, each bound in the statement's parameters in turn (From ≤ created_at < To).
		at := bt.CreatedAt
		for _, c := range []struct {
			name string
			f    balances.Filter
			p    page.Request
			want int
		}{
			{"type payment", balances.Filter{Type: balances.TypePayment}, page.Request{Limit: 10}, 1},
			{"type payout", balances.Filter{Type: balances.TypePayout}, page.Request{Limit: 10}, 0},
			{"from its time", balances.Filter{From: at}, page.Request{Limit: 10}, 1},
			{"from after it", balances.Filter{From: at.Add(time.Millisecond)}, page.Request{Limit: 10}, 0},
			{"to its time", balances.Filter{To: at}, page.Request{Limit: 10}, 0},
			{"all bounds", balances.Filter{Type: balances.TypePayment, SourceID: pi.ID, From: at, To: at.Add(time.Second)}, page.Request{Limit: 10}, 1},
			{"after it", balances.Filter{Type: balances.TypePayment, From: at}, page.Request{Limit: 10, After: bt.ID}, 0},
		} {
			c.f.CenterID = w.centers[1]
			res, err := store.BalanceTransactions(ctx, c.f, c.p)
			if err != nil || len(res.Items) != c.want {
				t.Errorf("%s: %d balance transactions (%v), want %d", c.name, len(res.Items), err, c.want)
			}
		}
		accounts, err := store.LedgerAccounts(ctx, page.Request{Limit: 2})
		if err != nil || len(accounts.Items) != 2 || !accounts.HasMore {
			t.Fatalf("accounts page %+v, %v", accounts, err)
		}
		after, _ := page.Decode(accounts.Next)
		rest, err := store.LedgerAccounts(ctx, page.Request{Limit: 10, After: after})
		if err != nil {
			t.Fatal(err)
		}
		all := map[ledger.Account]int64{}
		for _, a := range append(accounts.Items, rest.Items...) {
			all[a.Account] = a.Balance
		}
		want := map[ledger.Account]int64{ledger.ExternalCard: -12000, ledger.Buyer(w.buyers[0]): 0,
			ledger.Center(w.centers[1]): 11400, ledger.PlatformFees: 600}
		if fmt.Sprint(all) != fmt.Sprint(want) {
			t.Errorf("accounts %v, want %v", all, want)
		}
		// The earning's transfer at the provider is recorded with it, to be made after the commit.
		pending, err := storage.NewCenterTransfers(w.db).PendingTransfers(ctx, 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending transfers %+v, %v", pending, err)
		}
		if tr := pending[0]; tr.SourceID != pi.ID || tr.Kind != "payment" || tr.Amount != 12000 || tr.Fees != 600 ||
			tr.BuyerID != w.buyers[0] || tr.CenterID != w.centers[1] || tr.Status != balances.TransferPending {
			t.Errorf("transfer %+v", tr)
		}
		// The same earning twice is refused: the payment's transaction rolls back.
		err = storage.NewPayments(w.db).InTx(ctx, func(tx payments.Tx) error {
			return tx.EarnCard(ctx, pi)
		})
		if err == nil {
			t.Fatal("a second earning of the same payment was posted")
		}
		w.check("card replay")
	})
}

// TestLedgerProperty runs random sequences of card payments, SEPA collections (succeeded, failed,
// failed after success, notifications repeated; payments partly or fully refunded before their
// collection), payouts (the payouts service: pending, paid, failed, returned) and card refunds
// (partial or the rest, made or refused at the provider: the refunds service), and checks after
// each step that the trial balance is 0 and that each centre's available is the sum of its
// balance transactions.
func TestLedgerProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(seed, 11))
		w := newLedgerWorld(t, storagetest.Open(t, b))
		cols := storage.NewCollections(w.db)
		provider := &fakeRefunder{}
		refunder := refundService(w.db, provider)
		var cards []payments.Intent
		w.withPayouts(rng)
		for step := range 40 {
			op := rng.IntN(5)
			switch op {
			case 0: // card payment
				c := w.centers[rng.IntN(3)]
				o := w.order(w.buyers[rng.IntN(3)], c, 100+rng.Int64N(50000))
				cards = append(cards, w.pay(o, payments.MethodCard, ""))
				w.earn(c, o.Total)
			case 1: // a month of SEPA debits for one buyer: one collection
				w.months++
				month := fmt.Sprintf("2027-%02d", w.months)
				buyer := w.buyers[rng.IntN(3)]
				for range 1 + rng.IntN(3) {
					c := w.centers[rng.IntN(3)]
					o := w.order(buyer, c, 100+rng.Int64N(20000))
					pi := w.pay(o, payments.MethodSEPADebit, month)
					collected := o.Total
					if rng.IntN(2) == 0 { // refunded before the collection: the collection debits less
						amount := 1 + rng.Int64N(o.Total)
						r, err := refunder.Create(ctx, admin, refunds.CreateInput{PaymentIntentID: pi.ID, Amount: &amount, Reason: refunds.ReasonOther})
						if err != nil || r.Status != refunds.StatusSucceeded {
							t.Fatalf("refund of a scheduled SEPA payment: %+v, %v", r, err)
						}
						collected -= amount
					}
					if collected > 0 {
						w.earn(c, collected) // earned whether the debit succeeds or fails
					}
				}
				if _, err := cols.CreateMonth(ctx, month, t0); err != nil {
					t.Fatal(err)
				}
				if _, _, err := cols.Prenotify(ctx, month, "", collections.Prenotice{DueDate: t0, CreditorID: "FR72ZZZ123456", At: t0}, 10); err != nil {
					t.Fatal(err)
				}
				subs, err := cols.PendingSubmissions(ctx, month, "", 10)
				if err != nil || len(subs) != 1 {
					t.Fatalf("submissions %v, %v", subs, err)
				}
				col := subs[0].Collection
				if _, err := cols.MarkSubmitted(ctx, col.ID, "payin_"+col.ID, "", t0); err != nil {
					t.Fatal(err)
				}
				fail := collections.Failure{CollectionID: col.ID, Code: "insufficient_funds", Message: "unpaid", At: t0}
				for range 1 + rng.IntN(2) { // notifications repeat
					if rng.IntN(2) == 0 {
						_, err = cols.Succeed(ctx, col.ID, t0)
					} else {
						_, err = cols.Fail(ctx, fail)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			case 2: // payout through the payouts service: sometimes more than available
				c := w.centers[rng.IntN(3)]
				available := w.available(c)
				amount := 1 + rng.Int64N(max(available, 0)+2000)
				p, err := w.payouts.Create(ctx, auth.Principal{Subject: "s", Role: auth.RoleCenter, Org: c}, "", &amount)
				switch {
				case amount > available && errors.Is(err, payouts.ErrInsufficientBalance):
				case err != nil:
					t.Fatalf("payout of %d: %v", amount, err)
				default:
					w.made = append(w.made, p.ID)
				}
			case 3: // refund of a card payment: part or all of what remains, refused at the provider or not
				if len(cards) == 0 {
					continue
				}
				pi := cards[rng.IntN(len(cards))]
				cur, err := storage.NewPayments(w.db).Intent(ctx, pi.ID)
				if err != nil {
					t.Fatal(err)
				}
				if cur.AmountRefunded == cur.Amount {
					continue
				}
				amount := 1 + rng.Int64N(cur.Amount-cur.AmountRefunded)
				if rng.IntN(4) == 0 {
					amount = cur.Amount - cur.AmountRefunded // the last refund: the rest of the fee
				}
				refuse := rng.IntN(4) == 0
				provider.mu.Lock()
				provider.refuse = map[int64]bool{amount: refuse}
				provider.mu.Unlock()
				finishTransfers(t, w.db)
				r, err := refunder.Create(ctx, admin, refunds.CreateInput{PaymentIntentID: pi.ID, Amount: &amount, Reason: refunds.ReasonOther})
				if err != nil {
					t.Fatal(err)
				}
				o, err := storage.NewOrders(w.db).Order(ctx, pi.OrderID)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case r.Status == refunds.StatusSucceeded && !refuse:
					w.expected[o.CenterID] -= r.Amount - r.Fee
				case r.Status == refunds.StatusFailed && refuse: // given back by an adjustment
				default:
					t.Fatalf("refund %+v (refused %v)", r, refuse)
				}
			case 4: // the provider answers pending payouts (polling), or the bank returns a paid one
				if rng.IntN(2) == 0 {
					if _, err := w.payouts.Resume(ctx); err != nil {
						t.Fatal(err)
					}
				} else if len(w.made) > 0 {
					p, err := storage.NewPayouts(w.db).Payout(ctx, w.made[rng.IntN(len(w.made))])
					if err != nil {
						t.Fatal(err)
					}
					if p.ProviderPayoutID != "" {
						if err := w.payouts.ApplyReturn(ctx, p.ProviderPayoutID, ""); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			w.check(fmt.Sprintf("step %d (op %d)", step, op))
		}
	})
}

// held is what the centre's payouts take from its balance: those pending or paid.
func (w *ledgerWorld) held(center string) int64 {
	w.t.Helper()
	var out int64
	res, err := storage.NewPayouts(w.db).Payouts(context.Background(), payouts.Filter{CenterID: center}, page.Request{Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range res.Items {
		if p.Status == payouts.StatusPending || p.Status == payouts.StatusPaid {
			out += p.Amount
		}
	}
	return out
}

// available is what the test expects of the centre's balance.
func (w *ledgerWorld) available(center string) int64 { return w.expected[center] - w.held(center) }

// fakeBank is a payout provider whose payouts end at random: created, succeeded or failed at
// once, and created ones settle when read again.
type fakeBank struct {
	rng     *rand.Rand
	payouts map[string]psp.Payout
}

func (b *fakeBank) outcome() psp.PayoutStatus {
	return []psp.PayoutStatus{psp.PayoutCreated, psp.PayoutSucceeded, psp.PayoutFailed}[b.rng.IntN(3)]
}

func (b *fakeBank) CreatePayout(_ context.Context, req psp.PayoutRequest) (psp.Payout, error) {
	id := "bank_" + req.IdempotencyKey
	if p, ok := b.payouts[id]; ok {
		return p, nil
	}
	p := psp.Payout{ID: id, Status: b.outcome(), Amount: req.Amount, Tag: req.Tag, Failure: psp.FailureAccountClosed}
	b.payouts[id] = p
	return p, nil
}

func (b *fakeBank) GetPayout(_ context.Context, id string) (psp.Payout, error) {
	p, ok := b.payouts[id]
	if !ok {
		return psp.Payout{}, psp.ErrNotFound
	}
	if p.Status == psp.PayoutCreated {
		p.Status = b.outcome()
		b.payouts[id] = p
	}
	return p, nil
}

func (b *fakeBank) GetOwner(context.Context, string) (psp.Owner, error) {
	return psp.Owner{PayoutsEnabled: true}, nil
}
func (b *fakeBank) CreatePayoutAccount(context.Context, psp.PayoutAccountRequest) (psp.PayoutAccount, error) {
	return psp.PayoutAccount{}, psp.ErrUnavailable
}
func (b *fakeBank) GetPayoutAccount(context.Context, string, string) (psp.PayoutAccount, error) {
	return psp.PayoutAccount{}, psp.ErrUnavailable
}
func (b *fakeBank) DeactivatePayoutAccount(context.Context, string, string) (psp.PayoutAccount, error) {
	return psp.PayoutAccount{}, psp.ErrUnavailable
}

type fakePayees struct{}

func (fakePayees) EnsurePayee(_ context.Context, centerID string) (balances.Payee, error) {
	return balances.Payee{CenterID: centerID, UserID: "owner_" + centerID, WalletID: "wallet_" + centerID}, nil
}

// withPayouts gives each centre a payout account and the world a payouts service on a fake bank.
func (w *ledgerWorld) withPayouts(rng *rand.Rand) {
	w.t.Helper()
	ctx := context.Background()
	for _, c := range w.centers {
		err := w.db.PayoutUnits().InTx(ctx, func(tx payouts.Tx) error {
			_, err := tx.AddPayoutAccount(ctx, payouts.Account{ID: id.New(id.BankAccount), CenterID: c, ProviderID: "rcp_" + c,
				OwnerName: "CVHU", Country: "FR", Last4: "0143", MaskedIBAN: "FR76 **** 0143", Fingerprint: "fp_" + c, Active: true,
				CreatedAt: t0, UpdatedAt: t0}, true)
			return err
		})
		if err != nil {
			w.t.Fatal(err)
		}
	}
	w.payouts = payouts.NewService(payouts.Config{Store: storage.NewPayouts(w.db), Centers: storage.NewParties(w.db),
		Payees: fakePayees{}, Provider: &fakeBank{rng: rng, payouts: map[string]psp.Payout{}}, Clock: clock.NewManual(t0)})
}

func post(t *testing.T, db *storage.DB, lt ledger.Transaction) {
	t.Helper()
	ctx := context.Background()
	if err := db.Units().InTx(ctx, func(tx txn.Tx) error { return tx.Post(ctx, lt) }); err != nil {
		t.Fatal(err)
	}
}
