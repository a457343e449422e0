package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks/webhookstest"
)

var (
	eventRoutes = []authzRoute{
		{"GET", "/v1/events", nil, anyRole},
		{"GET", "/v1/events/evt_x", nil, anyRole},
	}
	endpointOwners = []auth.Role{auth.RoleCenter, auth.RoleAdmin, auth.RoleService}
	webhookRoutes  = []authzRoute{
		{"POST", "/v1/webhook-endpoints", map[string]any{"url": "https://erp.example.fr/in", "enabled_events": []string{"*"}}, endpointOwners},
		{"GET", "/v1/webhook-endpoints", nil, endpointOwners},
		{"GET", "/v1/webhook-endpoints/we_x", nil, endpointOwners},
		{"PATCH", "/v1/webhook-endpoints/we_x", map[string]any{"description": "x"}, endpointOwners},
		{"DELETE", "/v1/webhook-endpoints/we_x", nil, endpointOwners},
		{"POST", "/v1/webhook-endpoints/we_x/rotate-secret", nil, endpointOwners},
		{"GET", "/v1/webhook-endpoints/we_x/deliveries", nil, endpointOwners},
		{"POST", "/v1/webhook-endpoints/we_x/deliveries/whd_x/retry", nil, endpointOwners},
	}
)

// fastWebhooks shortens the retry schedule and the job queue's delays.
func fastWebhooks(delays ...time.Duration) apptest.Option {
	return apptest.WithOptions(func(o *app.Options) {
		o.Webhooks.RetryDelays = delays
		o.SchedulerInterval = 300 * time.Millisecond
		o.Jobs.PollInterval = 100 * time.Millisecond
		o.Jobs.RetryDelay = func(int) time.Duration { return 200 * time.Millisecond }
		o.Jobs.SoftStopTimeout = 300 * time.Millisecond
		o.Jobs.RefundRetryDelay = 100 * time.Millisecond
	})
}

func createEndpoint(t *testing.T, s *apptest.Server, token, url string, types ...string) httpapi.WebhookEndpointWithSecret {
	t.Helper()
	var ep httpapi.WebhookEndpointWithSecret
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/webhook-endpoints", Token: token,
		Body: map[string]any{"url": url, "enabled_events": types, "description": "test receiver"}}).Expect(t, 201).JSON(t, &ep)
	if !strings.HasPrefix(ep.ID, "we_") || !strings.HasPrefix(ep.Secret, "whsec_") || ep.Status != "enabled" {
		t.Fatalf("endpoint = %+v", ep)
	}
	return ep
}

// emit writes one event through a unit of work, as the capabilities do, and returns its id.
func emit(t *testing.T, s *apptest.Server, e txn.Event) string {
	t.Helper()
	if e.At.IsZero() {
		e.At = s.App.Clock.Now()
	}
	var before string
	_ = s.App.DB.SQL().QueryRow("SELECT coalesce(max(id), '') FROM events").Scan(&before)
	if err := s.App.DB.Units().InTx(t.Context(), func(tx txn.Tx) error { return tx.Emit(t.Context(), e) }); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := s.App.DB.SQL().QueryRow("SELECT max(id) FROM events").Scan(&id); err != nil || id <= before {
		t.Fatalf("emitted event not found: %q (%v)", id, err)
	}
	return id
}

// anOrder creates an order of a fresh buyer from center and returns it as the domain value.
func anOrder(t *testing.T, s *apptest.Server, siren, centerID string) orders.Order {
	t.Helper()
	b := createBuyer(t, s, siren)
	o := createOrder(t, s, s.Token(t, auth.RoleBuyer, b.ID), orderBody(centerID, line("P", 1, 1000, nil)))
	got, err := s.App.Orders.Order(t.Context(), auth.Principal{Subject: "t", Role: auth.RoleAdmin}, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func deliveries(t *testing.T, s *apptest.Server, token, endpointID string) []httpapi.WebhookDelivery {
	t.Helper()
	var l httpapi.WebhookDeliveryList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + endpointID + "/deliveries", Token: token}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

// awaitDelivery polls an endpoint's deliveries until one satisfies done (a minute at most).
func awaitDelivery(t *testing.T, s *apptest.Server, token, endpointID string, done func(httpapi.WebhookDelivery) bool) httpapi.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		for _, d := range deliveries(t, s, token, endpointID) {
			if done(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries of %s: still waiting after a minute: %+v", endpointID, deliveries(t, s, token, endpointID))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func verifyAll(t *testing.T, secret string, msgs []webhookstest.Message) {
	t.Helper()
	for i, m := range msgs {
		if err := webhookstest.Verify(secret, m.Header, m.Body, time.Now()); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
}

// A receiver that fails three times, then succeeds, gets the event once (one 2xx), each attempt
// signed and verifiable, with the event as GET /v1/events/{id} answers it; a centre's endpoint
// gets only its own events of the types it chose; a platform endpoint gets every event.
func TestWebhookRetriedUntilDelivered(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b, fastWebhooks(20*time.Millisecond, 40*time.Millisecond, 60*time.Millisecond))
		center, other := createCenter(t, s, "81234567600017"), createCenter(t, s, "82345678500018")
		centerTok, admin := s.Token(t, auth.RoleCenter, center.ID), s.Token(t, auth.RoleAdmin, "")
		flaky := webhookstest.NewReceiver(t, 500, 503, 404)
		ep := createEndpoint(t, s, centerTok, flaky.URL+"/hooks?src=vhupay", "order.confirmed")
		platform := webhookstest.NewReceiver(t)
		pep := createEndpoint(t, s, admin, platform.URL, "*")
		otherRecv := webhookstest.NewReceiver(t)
		createEndpoint(t, s, s.Token(t, auth.RoleCenter, other.ID), otherRecv.URL, "*")

		o := anOrder(t, s, "812345676", center.ID)
		evtID := emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o})
		emit(t, s, txn.Event{Type: "order.cancelled", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o}) // not subscribed
		emit(t, s, txn.Event{Type: "reconciliation.mismatch", Object: map[string]any{"id": "rec_1"}})       // platform only

		msgs := flaky.Await(t, "a success", func(m []webhookstest.Message) bool { return len(m) > 0 && m[len(m)-1].Status == 200 })
		d := awaitDelivery(t, s, centerTok, ep.ID, func(d httpapi.WebhookDelivery) bool { return d.Status == "succeeded" })
		if len(msgs) != 4 || d.Attempts != 4 || d.LastStatusCode == nil || *d.LastStatusCode != 200 || d.NextAttemptAt != nil ||
			d.EventID != evtID || d.EventType != "order.confirmed" || d.LastError != nil {
			t.Errorf("after 3 failures and a success: %d messages, delivery %+v", len(msgs), d)
		}
		verifyAll(t, ep.Secret, msgs)
		var ev httpapi.Event
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events/" + evtID, Token: centerTok}).Expect(t, 200).JSON(t, &ev)
		for i, m := range msgs {
			if m.Header.Get("webhook-id") != evtID || m.Header.Get("Content-Type") != "application/json" {
				t.Errorf("message %d headers = %v", i, m.Header)
			}
			var got httpapi.Event
			if err := json.Unmarshal(m.Body, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ev, got, cmp.Comparer(jsonEqual)); diff != "" {
				t.Errorf("message %d body differs from GET /v1/events/{id} (-get +sent):\n%s", i, diff)
			}
		}
		var order httpapi.Order
		if err := json.Unmarshal(ev.Data.Object, &order); err != nil || !cmp.Equal(order, getOrder(t, s, centerTok, o.ID)) {
			t.Errorf("data.object = %s, want the order's GET (%v)", ev.Data.Object, err)
		}

		got := platform.Await(t, "three events", func(m []webhookstest.Message) bool { return len(m) >= 3 })
		verifyAll(t, pep.Secret, got)
		awaitDelivery(t, s, admin, pep.ID, func(d httpapi.WebhookDelivery) bool {
			return d.EventType == "reconciliation.mismatch" && d.Status == "succeeded"
		})
		if n := len(otherRecv.Messages()); n != 0 {
			t.Errorf("another centre's endpoint got %d messages", n)
		}
		if l := deliveries(t, s, centerTok, ep.ID); len(l) != 1 {
			t.Errorf("the centre's endpoint has %d deliveries, want 1 (order.confirmed only)", len(l))
		}

		// A retry sends it again at once; the receiver dedupes on webhook-id.
		var again httpapi.WebhookDelivery
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/webhook-endpoints/" + ep.ID + "/deliveries/" + d.ID + "/retry", Token: centerTok}).
			Expect(t, 202).JSON(t, &again)
		msgs = flaky.Await(t, "the retry", func(m []webhookstest.Message) bool { return len(m) == 5 })
		verifyAll(t, ep.Secret, msgs)
		if msgs[4].Header.Get("webhook-id") != evtID {
			t.Errorf("retried message id = %s", msgs[4].Header.Get("webhook-id"))
		}
		awaitDelivery(t, s, centerTok, ep.ID, func(d httpapi.WebhookDelivery) bool { return d.Status == "succeeded" && d.Attempts == 5 })
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && cmp.Equal(x, y)
}

// A unit of work that rolls back after emitting leaves no event and sends nothing.
func TestRolledBackUnitEmitsNothing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b, fastWebhooks(time.Hour))
		admin := s.Token(t, auth.RoleAdmin, "")
		recv := webhookstest.NewReceiver(t)
		createEndpoint(t, s, admin, recv.URL, "*")
		center := createCenter(t, s, "81234567600017")
		o := anOrder(t, s, "812345676", center.ID)

		boom := errors.New("the change failed after emitting")
		err := s.App.DB.Units().InTx(t.Context(), func(tx txn.Tx) error {
			if err := tx.Emit(t.Context(), txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o, At: s.App.Clock.Now()}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		marker := emit(t, s, txn.Event{Type: "order.cancelled", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o})
		got := recv.Await(t, "the marker", func(m []webhookstest.Message) bool { return len(m) > 0 })
		var l httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events", Token: admin}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 1 || l.Data[0].ID != marker || len(got) != 1 || got[0].Header.Get("webhook-id") != marker {
			t.Errorf("events = %+v, messages = %d", l.Data, len(got))
		}
	})
}

// An event whose delivery is under way when the process stops is delivered by the next process
// on the database, once (the interrupted attempt does not count).
func TestWebhookDeliveredByTheNextProcess(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		dbURL := storagetest.URL(t, b)
		first := apptest.Start(t, b, apptest.WithDatabaseURL(dbURL), fastWebhooks(time.Millisecond))
		admin := first.Token(t, auth.RoleAdmin, "")

		hung, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		var answered []string
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case hung <- struct{}{}: // the first attempt hangs until its process stops
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			default:
			}
			mu.Lock()
			answered = append(answered, r.Header.Get("webhook-id"))
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		defer recv.Close()
		defer close(release)
		ep := createEndpoint(t, first, admin, recv.URL, "*")
		center := createCenter(t, first, "81234567600017")
		o := anOrder(t, first, "812345676", center.ID)
		evtID := emit(t, first, txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o})
		select {
		case <-hung:
		case <-time.After(time.Minute):
			t.Fatal("the first process never attempted the delivery")
		}
		first.Stop() // mid-delivery

		second := apptest.Start(t, b, apptest.WithDatabaseURL(dbURL), fastWebhooks(time.Millisecond))
		d := awaitDelivery(t, second, admin, ep.ID, func(d httpapi.WebhookDelivery) bool { return d.Status == "succeeded" })
		mu.Lock()
		defer mu.Unlock()
		if d.Attempts != 1 || len(answered) != 1 || answered[0] != evtID {
			t.Errorf("delivery = %+v, answered = %v", d, answered)
		}
	})
}

// After a rotation, each message carries two signatures, one per secret, for 24 hours.
func TestWebhookSecretRotation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b, fastWebhooks(time.Hour))
		center := createCenter(t, s, "81234567600017")
		tok := s.Token(t, auth.RoleCenter, center.ID)
		recv := webhookstest.NewReceiver(t)
		ep := createEndpoint(t, s, tok, recv.URL, "*")
		var rotated httpapi.WebhookEndpointWithSecret
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/webhook-endpoints/" + ep.ID + "/rotate-secret", Token: tok}).Expect(t, 200).JSON(t, &rotated)
		if rotated.Secret == ep.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.ID != ep.ID {
			t.Fatalf("rotated = %+v", rotated)
		}
		o := anOrder(t, s, "812345676", center.ID)
		emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o})
		m := recv.Await(t, "the event", func(m []webhookstest.Message) bool { return len(m) == 1 })[0]
		if n := len(strings.Fields(m.Header.Get("webhook-signature"))); n != 2 {
			t.Errorf("signatures = %q, want two", m.Header.Get("webhook-signature"))
		}
		for _, secret := range []string{ep.Secret, rotated.Secret} {
			if err := webhookstest.Verify(secret, m.Header, m.Body, time.Now()); err != nil {
				t.Errorf("verify: %v", err)
			}
		}
		// Secrets are never shown again.
		resp := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok}).Expect(t, 200)
		if strings.Contains(string(resp.Body), "whsec_") {
			t.Errorf("GET shows a secret: %s", resp.Body)
		}
	})
}

// In production (a real provider), URLs must be https, and no delivery ever connects to a
// loopback, private, link-local or metadata address, even through a name saved while it
// resolved elsewhere.
func TestWebhookSSRFInProduction(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		fake := mangopaytest.New(mangopaytest.Config{})
		t.Cleanup(fake.Close)
		resolveTo := map[string]string{"loopback.partner.test": "127.0.0.1", "metadata.partner.test": "169.254.169.254"}
		recv := webhookstest.NewReceiver(t)
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(recv.URL, "http://"))
		s := apptest.Start(t, b, apptest.WithMangoPay(fake.URL, fake.ClientID, fake.APIKey), fastWebhooks(time.Hour),
			apptest.WithOptions(func(o *app.Options) {
				o.Webhooks.Guard.Lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
					if a, ok := resolveTo[host]; ok {
						return []netip.Addr{netip.MustParseAddr(a)}, nil
					}
					return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
				}
			}))
		admin := s.Token(t, auth.RoleAdmin, "")
		for _, u := range []string{recv.URL, "http://erp.example.fr/in", "https://127.0.0.1/in", "https://169.254.169.254/latest/meta-data",
			"https://[::1]:" + port + "/", "https://10.0.0.7/in", "https://user:pw@erp.example.fr/"} {
			p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/webhook-endpoints", Token: admin,
				Body: map[string]any{"url": u, "enabled_events": []string{"*"}}}).ExpectProblem(t, 422, "validation_failed")
			if len(p.Errors) != 1 || p.Errors[0].Field != "url" {
				t.Errorf("%s: problem = %+v", u, p)
			}
		}
		loop := createEndpoint(t, s, admin, "https://loopback.partner.test:"+port+"/in", "*")
		meta := createEndpoint(t, s, admin, "https://metadata.partner.test/latest/meta-data", "*")
		center := createCenter(t, s, "81234567600017")
		o := anOrder(t, s, "812345676", center.ID)
		emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o})
		for _, ep := range []string{loop.ID, meta.ID} {
			d := awaitDelivery(t, s, admin, ep, func(d httpapi.WebhookDelivery) bool { return d.Attempts == 1 })
			if d.Status != "pending" || d.LastError == nil || !strings.HasPrefix(*d.LastError, "refused") || d.LastStatusCode != nil {
				t.Errorf("delivery to a refused address = %+v", d)
			}
		}
		if n := len(recv.Messages()); n != 0 {
			t.Errorf("the loopback receiver got %d requests in production", n)
		}
	})
}

func TestWebhookEndpointsCRUD(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		center, other := createCenter(t, s, "81234567600017"), createCenter(t, s, "82345678500018")
		tok, otherTok, admin := s.Token(t, auth.RoleCenter, center.ID), s.Token(t, auth.RoleCenter, other.ID), s.Token(t, auth.RoleAdmin, "")
		ep := createEndpoint(t, s, tok, "https://erp.example.fr/in", "order.confirmed", "statement.issued")
		if ep.CenterID == nil || *ep.CenterID != center.ID {
			t.Errorf("owner = %v", ep.CenterID)
		}

		// Unknown types, platform-only types for a centre, bad URLs and bodies: 422, nothing written.
		for _, body := range []map[string]any{
			{"url": "https://erp.example.fr/in", "enabled_events": []string{"order.shipped"}},
			{"url": "https://erp.example.fr/in", "enabled_events": []string{"reconciliation.mismatch"}},
			{"url": "https://erp.example.fr/in", "enabled_events": []string{"*", "order.confirmed"}},
			{"url": "https://erp.example.fr/in", "enabled_events": []string{}},
			{"url": "https://erp.example.fr/\x00in", "enabled_events": []string{"*"}},
			{"url": "erp.example.fr", "enabled_events": []string{"*"}},
			{"url": "https://erp.example.fr/in", "enabled_events": []string{"*"}, "secret": "whsec_mine"},
		} {
			s.Do(t, apptest.Request{Method: "POST", Path: "/v1/webhook-endpoints", Token: tok, Body: body}).ExpectProblem(t, 422, "validation_failed")
		}
		createEndpoint(t, s, admin, "https://ops.example.fr/in", "reconciliation.mismatch")

		// Another centre sees nothing of it.
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + ep.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/webhook-endpoints/" + ep.ID, Token: otherTok, Body: map[string]any{"status": "disabled"}}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/webhook-endpoints/" + ep.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		var l httpapi.WebhookEndpointList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints", Token: otherTok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 0 {
			t.Errorf("another centre lists %+v", l.Data)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints", Token: tok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 1 || l.Data[0].ID != ep.ID {
			t.Errorf("the centre lists %+v", l.Data)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints?limit=1", Token: admin}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 1 || !l.HasMore {
			t.Errorf("admin's first page = %+v", l)
		}

		var up httpapi.WebhookEndpoint
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok,
			Body: map[string]any{"enabled_events": []string{"*"}, "status": "disabled", "description": "ERP"}}).Expect(t, 200).JSON(t, &up)
		if up.Status != "disabled" || up.Description != "ERP" || !cmp.Equal(up.EnabledEvents, []string{"*"}) || up.URL != ep.URL {
			t.Errorf("updated = %+v", up)
		}
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok,
			Body: map[string]any{"status": "paused"}}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok,
			Body: map[string]any{"url": "ftp://x"}}).ExpectProblem(t, 422, "validation_failed")

		// Every change is audited, without the secret.
		var actions []string
		rows, err := s.App.DB.SQL().Query("SELECT action, coalesce(CAST(after AS TEXT), '') FROM audit_events WHERE target_id = '" + ep.ID + "' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var action, after string
			if err := rows.Scan(&action, &after); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(after, "whsec_") {
				t.Errorf("audit %s holds a secret", action)
			}
			actions = append(actions, action)
		}
		rows.Close()

		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok}).Expect(t, 204)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok}).ExpectProblem(t, 404, "not_found")
		if want := []string{"webhook_endpoint.create", "webhook_endpoint.update"}; !cmp.Equal(actions, want) {
			t.Errorf("audit actions = %v, want %v", actions, want)
		}
		var n int
		_ = s.App.DB.SQL().QueryRow("SELECT count(*) FROM audit_events WHERE action = 'webhook_endpoint.delete'").Scan(&n)
		if n != 1 {
			t.Errorf("delete audited %d times", n)
		}
	})
}

// Events are listed to the organisations they concern (a buyer its own, a centre its own, never
// the platform's), with filters and keyset pagination.
func TestEventsListing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		c1, c2 := createCenter(t, s, "81234567600017"), createCenter(t, s, "82345678500018")
		o1, o2 := anOrder(t, s, "812345676", c1.ID), anOrder(t, s, "823456785", c2.ID)
		at := s.App.Clock.Now()
		e1 := emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o1.BuyerID, CenterID: c1.ID, Object: o1, At: at})
		e2 := emit(t, s, txn.Event{Type: "order.cancelled", BuyerID: o1.BuyerID, CenterID: c1.ID, Object: o1, At: at.Add(time.Second)})
		e3 := emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o2.BuyerID, CenterID: c2.ID, Object: o2, At: at.Add(2 * time.Second)})
		e4 := emit(t, s, txn.Event{Type: "reconciliation.mismatch", Object: map[string]any{"id": "rec_1"}, At: at.Add(3 * time.Second)})

		list := func(token, query string) []string {
			t.Helper()
			var l httpapi.EventList
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events" + query, Token: token}).Expect(t, 200).JSON(t, &l)
			ids := []string{}
			for _, e := range l.Data {
				ids = append(ids, e.ID)
			}
			return ids
		}
		admin := s.Token(t, auth.RoleAdmin, "")
		for _, tc := range []struct {
			token, query string
			want         []string
		}{
			{admin, "", []string{e4, e3, e2, e1}},
			{s.Token(t, auth.RoleService, ""), "?type=order.confirmed&type=reconciliation.mismatch", []string{e4, e3, e1}},
			{s.Token(t, auth.RoleBuyer, o1.BuyerID), "", []string{e2, e1}},
			{s.Token(t, auth.RoleCenter, c2.ID), "", []string{e3}},
			{s.Token(t, auth.RoleCenter, c1.ID), "?type=order.cancelled", []string{e2}},
			{admin, "?created_after=" + url.QueryEscape(at.Format(time.RFC3339Nano)) + "&created_before=" + url.QueryEscape(at.Add(3*time.Second).Format(time.RFC3339Nano)), []string{e3, e2}},
		} {
			if got := list(tc.token, tc.query); !cmp.Equal(got, tc.want) {
				t.Errorf("GET /v1/events%s = %v, want %v", tc.query, got, tc.want)
			}
		}
		var page1, page2 httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?limit=3", Token: admin}).Expect(t, 200).JSON(t, &page1)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?limit=3&cursor=" + page1.NextCursor, Token: admin}).Expect(t, 200).JSON(t, &page2)
		if len(page1.Data) != 3 || !page1.HasMore || len(page2.Data) != 1 || page2.HasMore || page2.Data[0].ID != e1 {
			t.Errorf("pages = %+v / %+v", page1, page2)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events/" + e3, Token: s.Token(t, auth.RoleCenter, c1.ID)}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events/" + e4, Token: s.Token(t, auth.RoleBuyer, o1.BuyerID)}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=order.shipped", Token: admin}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?created_after=yesterday", Token: admin}).ExpectProblem(t, 422, "validation_failed")

		// Kept 90 days (by the clock), then purged with their deliveries.
		n, err := s.App.Events.Purge(t.Context())
		if err != nil || n != 0 {
			t.Fatalf("purge now = %d, %v", n, err)
		}
		old := emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o1.BuyerID, CenterID: c1.ID, Object: o1, At: at.Add(-91 * 24 * time.Hour)})
		if n, err := s.App.Events.Purge(t.Context()); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events/" + old, Token: admin}).ExpectProblem(t, 404, "not_found")
	})
}

// A delivery that fails for 3 days fails for good; an endpoint whose deliveries have all failed
// for 3 days is disabled, and the other endpoints are told (webhook_endpoint.disabled).
func TestWebhookEndpointDisabledAfterThreeDays(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		deliveryClock := clock.NewManual(time.Now())
		s := apptest.Start(t, b, fastWebhooks(time.Millisecond), apptest.WithOptions(func(o *app.Options) { o.Webhooks.DeliveryClock = deliveryClock }))
		center := createCenter(t, s, "81234567600017")
		tok, admin := s.Token(t, auth.RoleCenter, center.ID), s.Token(t, auth.RoleAdmin, "")
		down := webhookstest.NewReceiver(t, slicesRepeat(500, 1000)...)
		ep := createEndpoint(t, s, tok, down.URL, "*")
		ops := webhookstest.NewReceiver(t)
		createEndpoint(t, s, admin, ops.URL, "webhook_endpoint.disabled")

		o := anOrder(t, s, "812345676", center.ID)
		emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o})
		awaitDelivery(t, s, tok, ep.ID, func(d httpapi.WebhookDelivery) bool { return d.Attempts >= 1 })
		deliveryClock.Advance(72*time.Hour + time.Minute)
		d := awaitDelivery(t, s, tok, ep.ID, func(d httpapi.WebhookDelivery) bool { return d.Status == "failed" })
		if d.NextAttemptAt != nil || d.LastStatusCode == nil || *d.LastStatusCode != 500 {
			t.Errorf("failed delivery = %+v", d)
		}
		var got httpapi.WebhookEndpoint
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok}).Expect(t, 200).JSON(t, &got)
		if got.Status != "disabled" {
			t.Errorf("endpoint after 3 days of failures = %+v", got)
		}
		m := ops.Await(t, "webhook_endpoint.disabled", func(m []webhookstest.Message) bool { return len(m) == 1 })[0]
		var ev httpapi.Event
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			t.Fatal(err)
		}
		var obj httpapi.WebhookEndpoint
		if err := json.Unmarshal(ev.Data.Object, &obj); err != nil || ev.Type != "webhook_endpoint.disabled" || obj.ID != ep.ID ||
			obj.Status != "disabled" || ev.CenterID == nil || *ev.CenterID != center.ID {
			t.Errorf("event = %+v, object %+v (%v)", ev, obj, err)
		}
		// Enabled again by its owner, it gets new events.
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/webhook-endpoints/" + ep.ID, Token: tok, Body: map[string]any{"status": "enabled"}}).Expect(t, 200)
	})
}

func slicesRepeat(status, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = status
	}
	return out
}
