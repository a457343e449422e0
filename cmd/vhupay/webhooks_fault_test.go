package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
	"github.com/vhupay/vhupay/internal/webhooks/webhookstest"
)

// A process killed (SIGKILL) while it delivers an event loses nothing: the job queue hands the
// delivery's job to the next process once the dead one's job is rescued, the attempt's lease runs
// out, and the event is delivered, signed, once.
func TestWebhookDeliveryKilledMidAttempt(t *testing.T) {
	e := startFaultEnv(t, 0)
	settings := []string{"VHUPAY_PSP=sandbox", "VHUPAY_MONTH_CLOSE_TIMEOUT=4s", "VHUPAY_JOB_RESCUE_AFTER=5s"}
	first := e.start(settings...)

	hung := make(chan struct{}, 1)
	var mu sync.Mutex
	var delivered []http.Header
	var bodies [][]byte
	var attempts int
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		attempts++
		first := attempts == 1
		mu.Unlock()
		if first { // the first attempt hangs: its process is killed meanwhile
			hung <- struct{}{}
			<-r.Context().Done()
			return
		}
		mu.Lock()
		delivered, bodies = append(delivered, r.Header.Clone()), append(bodies, body)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	body, _ := json.Marshal(map[string]any{"url": recv.URL, "enabled_events": []string{"*"}})
	req, _ := http.NewRequest(http.MethodPost, first.url+"/v1/webhook-endpoints", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ep struct{ ID, Secret string }
	_ = json.NewDecoder(resp.Body).Decode(&ep)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || ep.Secret == "" {
		t.Fatalf("create endpoint: %d %+v", resp.StatusCode, ep)
	}

	// An event written by a unit of work, as a capability writes it (with its fan-out job).
	q, err := jobs.New(e.db, e.dbURL, jobs.Config{}, nil, jobs.Work{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.db.SetEnqueuer(q.TxEnqueuer())
	e.db.SetEventJob(func(ids ...string) txn.Job { return webhooks.FanoutOf(ids...) })
	if err := e.db.Units().InTx(context.Background(), func(tx txn.Tx) error {
		return tx.Emit(context.Background(), txn.Event{Type: "reconciliation.mismatch", Object: map[string]any{"id": "rec_1"}, At: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	var eventID string
	if err := e.db.SQL().QueryRow("SELECT id FROM events").Scan(&eventID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hung:
	case <-time.After(time.Minute):
		t.Fatal("the first process never attempted the delivery")
	}
	first.kill(t)
	began := time.Now()

	e.start(settings...)
	e.waitFor(2*time.Minute, "the delivery by the next process", func() bool {
		return e.count(`SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'`) == 1
	})
	t.Logf("delivered by the next process %s after the kill", time.Since(began).Round(100*time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != 1 || delivered[0].Get("webhook-id") != eventID {
		t.Fatalf("delivered %d times: %v", len(delivered), delivered)
	}
	if err := webhookstest.Verify(ep.Secret, delivered[0], bodies[0], time.Now()); err != nil {
		t.Error(err)
	}
	if n := e.count(`SELECT attempts FROM webhook_deliveries`); n != 1 {
		t.Errorf("attempts = %d, want 1 (the killed one never finished)", n)
	}
}
