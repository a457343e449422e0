package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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

	var buyer struct{ ID string }
	if _, err := call(t, "POST", first.url+"/v1/buyers", e.admin, nil, map[string]any{
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
	if _, err := call(t, "POST", first.url+"/v1/card-registrations", token, nil, map[string]any{}, &raw); err != nil {
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
	if _, err := call(t, "PUT", first.url+"/v1/card-registrations/"+cr.ID, token, nil, map[string]any{"registration_data": string(data)}, &reg); err != nil {
		t.Fatal(err)
	}
	var centerID string
	if err := e.db.SQL().QueryRow("SELECT id FROM centers").Scan(&centerID); err != nil {
		t.Fatal(err)
	}
	var order struct{ ID string }
	if _, err := call(t, "POST", first.url+"/v1/orders", token, nil, map[string]any{"center_id": centerID, "delivery_mode": "delivery",
		"lines": []any{map[string]any{"reference": "P", "label": "Pièce P", "quantity": 1, "unit_price_excl_vat": 321}}}, &order); err != nil {
		t.Fatal(err)
	}

	// The charge is made at the fake, its answer held back; the process dies meanwhile.
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Delay: 10 * time.Minute})
	pay := map[string]any{"order_id": order.ID, "method": "card", "card_id": reg.CardID, "return_url": "https://shop.example/return"}
	key := map[string]string{"Idempotency-Key": "pay-" + order.ID}
	go func() { _, _ = call(t, "POST", first.url+"/v1/payment-intents", token, key, pay, nil) }()
	e.waitFor(30*time.Second, "the charge at the provider", func() bool { return e.fake.Created("payins") == 1 })
	first.kill(t)
	killed := time.Now()
	e.fake.ClearFaults()
	if n := e.count(`SELECT count(*) FROM payment_intents WHERE order_id = $1 AND status = 'processing'`, order.ID); n != 1 {
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
	if n := e.count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'confirmed'`, order.ID); n != 1 {
		t.Error("the order is not confirmed")
	}
	if n := e.count(`SELECT count(*) FROM payment_intents WHERE order_id = $1`, order.ID); n != 1 {
		t.Errorf("intents = %d, want 1", n)
	}
	if p, r := e.fake.Created("payins"), e.fake.Created("refunds"); p != 1 || r != 0 {
		t.Errorf("pay-ins %d, refunds %d; want one charge and no refund", p, r)
	}
}
