package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

// call sends a JSON request to a process and decodes its answer into out (when not nil).
func call(t *testing.T, method, u, token string, header map[string]string, body, out any) (int, error) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, data)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, data)
	}
	return resp.StatusCode, nil
}

// A `vhupay serve` process is killed (SIGKILL) after the provider charged the card and before
// the process wrote the answer (the fake MangoPay holds its answer back). The intent was recorded
// before the charge: the next process, asked the same request with the same Idempotency-Key,
// resumes it (the key is free again within the 15-second lease) — one charge, the order confirmed.
func TestCardPaymentKilledBetweenChargeAndWrite(t *testing.T) {
	e := startFaultEnv(t, 0)
	settings := []string{"VHUPAY_PSP_TIMEOUT=60s"}
	first := e.start(settings...)

	token, cardID, order := cardBuyer(t, e, first, 1)
	// The charge is made at the fake, its answer held back; the process dies meanwhile.
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Delay: 10 * time.Minute})
	pay := map[string]any{"order_id": order[0], "method": "card", "card_id": cardID, "return_url": "https://shop.example/return"}
	key := map[string]string{"Idempotency-Key": "pay-" + order[0]}
	go func() { _, _ = call(t, "POST", first.url+"/v1/payment-intents", token, key, pay, nil) }()
	e.waitFor(30*time.Second, "the charge at the provider", func() bool { return e.fake.Created("payins") == 1 })
	first.kill(t)
	killed := time.Now()
	e.fake.ClearFaults()
	if n := e.count(`SELECT count(*) FROM payment_intents WHERE order_id = $1 AND status = 'processing'`, order[0]); n != 1 {
		t.Fatalf("intents processing after the kill = %d, want the one recorded before the charge", n)
	}

	second := e.start(settings...)
	var pi struct{ ID, Status string }
	e.waitFor(time.Minute, "the retried payment", func() bool {
		status, err := call(t, "POST", second.url+"/v1/payment-intents", token, key, pay, &pi)
		if err != nil && status != http.StatusConflict {
			t.Fatalf("retry: %v", err)
		}
		return status == http.StatusCreated
	})
	t.Logf("the retry was answered %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	if pi.Status != "succeeded" || !strings.HasPrefix(pi.ID, "pi_") {
		t.Errorf("retried payment = %+v, want the resumed intent succeeded", pi)
	}
	if time.Since(killed) > 30*time.Second {
		t.Errorf("the key stayed locked %s after the kill", time.Since(killed).Round(time.Second))
	}
	if n := e.count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'confirmed'`, order[0]); n != 1 {
		t.Error("the order is not confirmed")
	}
	if n := e.count(`SELECT count(*) FROM payment_intents WHERE order_id = $1`, order[0]); n != 1 {
		t.Errorf("intents = %d, want 1", n)
	}
	if p, r := e.fake.Created("payins"), e.fake.Created("refunds"); p != 1 || r != 0 {
		t.Errorf("pay-ins %d, refunds %d; want one charge and no refund", p, r)
	}
}

// cardBuyer creates, through the process p, a buyer with a registered frictionless card and
// orders payment_pending orders of the seeded centre; it returns the buyer's token, the card id
// and the orders' ids.
func cardBuyer(t *testing.T, e *faultEnv, p *proc, orders int) (string, string, []string) {
	t.Helper()
	var buyer struct{ ID string }
	if _, err := call(t, "POST", p.url+"/v1/buyers", e.admin, nil, map[string]any{
		"name": "Garage Martin SARL", "siren": "812345676", "email": "compta@garage-martin.fr",
		"address":              map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"},
		"legal_representative": map[string]any{"first_name": "Alice", "last_name": "Martin"},
	}, &buyer); err != nil {
		t.Fatal(err)
	}
	token, err := auth.Sign(faultSecret, "vhupay", "vhupay-api", auth.Principal{Subject: "garage", Role: auth.RoleBuyer, Org: buyer.ID}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var cr struct {
		ID, CardRegistrationURL, AccessKey, PreregistrationData string
	}
	var raw map[string]string
	if _, err := call(t, "POST", p.url+"/v1/card-registrations", token, nil, map[string]any{}, &raw); err != nil {
		t.Fatal(err)
	}
	cr.ID, cr.CardRegistrationURL, cr.AccessKey, cr.PreregistrationData = raw["id"], raw["card_registration_url"], raw["access_key"], raw["preregistration_data"]
	resp, err := http.PostForm(cr.CardRegistrationURL, url.Values{"data": {cr.PreregistrationData}, "accessKeyRef": {cr.AccessKey},
		"cardNumber": {mangopaytest.FrictionlessCard}, "cardExpirationDate": {"1230"}, "cardCvx": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var reg struct {
		CardID string `json:"card_id"`
	}
	if _, err := call(t, "PUT", p.url+"/v1/card-registrations/"+cr.ID, token, nil, map[string]any{"registration_data": string(data)}, &reg); err != nil {
		t.Fatal(err)
	}
	var centerID string
	if err := e.db.SQL().QueryRow("SELECT id FROM centers").Scan(&centerID); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, orders)
	for i := range ids {
		var order struct{ ID string }
		// The marketplace back end prices orders (outside sandbox mode a buyer's typed lines are
		// refused): the admin orders for the buyer.
		if _, err := call(t, "POST", p.url+"/v1/orders", e.admin, nil, map[string]any{"buyer_id": buyer.ID, "center_id": centerID, "delivery_mode": "delivery",
			"lines": []any{map[string]any{"reference": "P", "label": "Pièce P", "quantity": 1, "unit_price_excl_vat": 300 + i}}}, &order); err != nil {
			t.Fatal(err)
		}
		ids[i] = order.ID
	}
	return token, reg.CardID, ids
}

// The measurement: 240 card payments, 8 at a time, each with its Idempotency-Key; the
// process is killed (SIGKILL) halfway, with charges in flight (the fake answers them late). The
// client retries every payment that got no answer, with the same key, on the next process. In
// the end every charge at the provider belongs to exactly one succeeded intent of its own order:
// no orphan, no double charge, nothing left processing.
func TestCardPaymentsKilledUnderLoad(t *testing.T) {
	e := startFaultEnv(t, 0)
	settings := []string{"VHUPAY_PSP_TIMEOUT=60s"}
	first := e.start(settings...)
	const payments = 240
	token, cardID, orders := cardBuyer(t, e, first, payments)
	// Every charge is answered 200 ms late: the kill catches several between the charge and the
	// write of its answer.
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Delay: 200 * time.Millisecond})

	payOnce := func(url string, i int) (int, error) {
		pay := map[string]any{"order_id": orders[i], "method": "card", "card_id": cardID, "return_url": "https://shop.example/return"}
		return call(t, "POST", url+"/v1/payment-intents", token, map[string]string{"Idempotency-Key": "pay-" + orders[i]}, pay, nil)
	}
	answered := make([]bool, payments)
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= payments {
					return
				}
				if status, _ := payOnce(first.url, i); status == http.StatusCreated {
					mu.Lock()
					answered[i] = true
					mu.Unlock()
				}
			}
		})
	}
	e.waitFor(time.Minute, "half the charges", func() bool { return e.fake.Created("payins") >= payments/2 })
	first.kill(t)
	wg.Wait()
	e.fake.ClearFaults()
	inFlight := e.count(`SELECT count(*) FROM payment_intents WHERE status = 'processing' AND provider_payin_id IS NULL`)
	charged := e.fake.Created("payins")
	unanswered := 0
	for _, a := range answered {
		if !a {
			unanswered++
		}
	}
	t.Logf("killed after %d charges: %d intents processing with no pay-in recorded, %d payments unanswered", charged, inFlight, unanswered)

	second := e.start(settings...)
	for i, a := range answered {
		if a {
			continue
		}
		e.waitFor(time.Minute, "the retried payment of order "+orders[i], func() bool {
			status, err := payOnce(second.url, i)
			if err != nil && status != http.StatusConflict {
				t.Fatalf("retry of order %d: %v", i, err)
			}
			return status == http.StatusCreated
		})
	}
	if n := e.count(`SELECT count(*) FROM orders WHERE status = 'confirmed'`); n != payments {
		t.Errorf("confirmed orders = %d, want %d", n, payments)
	}
	if n := e.count(`SELECT count(*) FROM payment_intents WHERE status = 'succeeded'`); n != payments {
		t.Errorf("succeeded intents = %d, want %d", n, payments)
	}
	if n := e.count(`SELECT count(*) FROM payment_intents WHERE status IN ('processing', 'requires_action')`); n != 0 {
		t.Errorf("open intents = %d, want 0", n)
	}
	if p, r := e.fake.Created("payins"), e.fake.Created("refunds"); p != payments || r != 0 {
		t.Errorf("pay-ins %d, refunds %d; want %d charges (one per order) and no refund", p, r, payments)
	}
	if n := e.count(`SELECT count(DISTINCT provider_payin_id) FROM payment_intents WHERE status = 'succeeded'`); n != payments {
		t.Errorf("distinct pay-ins kept by succeeded intents = %d, want %d", n, payments)
	}
}
