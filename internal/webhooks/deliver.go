package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/txn"
)

// skew is how early a delivery's job may run and still count as due (the job queue's clock is
// the database's).
const skew = 5 * time.Second

// delay is the wait after the n-th failed attempt (n ≥ 1).
func (s *Service) delay(n int) time.Duration {
	d := s.cfg.RetryDelays
	if n-1 < len(d) {
		return d[n-1]
	}
	return d[len(d)-1]
}

// Attempt makes a delivery's next attempt when it is due and no other attempt holds it (a lease
// on the delivery's row, taken by a conditional update: never two attempts at once, across
// processes). It returns when the delivery's job should run again; 0 when nothing is left for
// this job (the delivery succeeded, failed for good, is gone, or another attempt holds it).
//
// A 2xx answer within the timeout is a success; anything else (another status, a redirect, a
// timeout, a refused address) is a failure, retried on the schedule until GiveUpAfter from the
// delivery's creation, then the delivery fails. When it fails and the endpoint has been failing
// for GiveUpAfter, the endpoint is disabled and webhook_endpoint.disabled emitted.
func (s *Service) Attempt(ctx context.Context, deliveryID string) (time.Duration, error) {
	now := s.cfg.DeliveryClock.Now()
	lease := s.cfg.Timeout + 10*time.Second
	// The common case first, in one statement: the delivery is pending, due and free; its lease
	// is taken and it is read with its endpoint and its event.
	got, leased, err := s.cfg.Store.LeaseDueWebhookDelivery(ctx, deliveryID, now, now.Add(lease))
	if err != nil {
		return 0, err
	}
	var (
		d  Delivery
		ep Endpoint
		e  events.Event
	)
	if leased {
		d = got.Delivery
		if got.Endpoint == nil {
			return 0, nil // its endpoint was deleted
		}
		ep = *got.Endpoint
		if ep.Status != StatusEnabled {
			d.Status, d.LastError, d.NextAttemptAt, d.UpdatedAt = DeliveryFailed, "the endpoint is disabled", time.Time{}, s.cfg.DeliveryClock.Now()
			return 0, s.cfg.Store.InTx(ctx, func(tx Tx) error { return tx.RecordWebhookAttempt(ctx, d) })
		}
		if got.Event == nil {
			return 0, nil // purged: its deliveries went with it
		}
		e = *got.Event
	} else {
		var wait time.Duration
		var done bool
		if d, ep, e, wait, done, err = s.leaseAfterRead(ctx, deliveryID, now, lease); done || err != nil {
			return wait, err
		}
	}
	body, err := s.cfg.Render(e)
	if err != nil {
		return 0, s.release(ctx, d, fmt.Errorf("render event %s: %w", e.ID, err))
	}
	code, failure := s.send(ctx, ep, e.ID, body, now)
	if ctx.Err() != nil {
		// The process is stopping: the attempt did not finish, another process makes it.
		return 0, s.release(ctx, d, ctx.Err())
	}
	at := s.cfg.DeliveryClock.Now()
	d.Attempts++
	d.LastStatusCode, d.LastError, d.UpdatedAt = code, failure, at
	if failure == "" {
		d.Status, d.NextAttemptAt = DeliverySucceeded, time.Time{}
		return 0, s.cfg.Store.RecordWebhookSuccess(ctx, d)
	}
	var next time.Duration
	if at.Sub(d.CreatedAt) >= s.cfg.GiveUpAfter {
		d.Status, d.NextAttemptAt = DeliveryFailed, time.Time{}
	} else {
		next = s.delay(d.Attempts)
		d.NextAttemptAt = at.Add(next)
	}
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.RecordWebhookAttempt(ctx, d); err != nil {
			return err
		}
		if err := tx.SetWebhookEndpointFailing(ctx, ep.ID, at); err != nil {
			return err
		}
		if d.Status != DeliveryFailed {
			return nil
		}
		eventAt := s.cfg.Clock.Now()
		disabled, err := tx.DisableFailingWebhookEndpoint(ctx, ep.ID, at.Add(-s.cfg.GiveUpAfter), eventAt)
		if err != nil || !disabled {
			return err
		}
		ep.Status, ep.UpdatedAt = StatusDisabled, eventAt
		return tx.Emit(ctx, txn.Event{Type: "webhook_endpoint.disabled", CenterID: ep.CenterID, Object: ep, At: eventAt})
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

// leaseAfterRead is the general path of Attempt, when the delivery was not pending, due and free
// a moment ago: it reads the delivery, says when to come back when it is not due or is held
// (done), else takes its lease and reads its endpoint and event. done with a nil error and a
// zero wait: nothing is left for this job.
func (s *Service) leaseAfterRead(ctx context.Context, deliveryID string, now time.Time, lease time.Duration) (
	d Delivery, ep Endpoint, e events.Event, wait time.Duration, done bool, err error) {
	d, err = s.cfg.Store.WebhookDelivery(ctx, deliveryID)
	if errors.Is(err, ErrNotFound) {
		return d, ep, e, 0, true, nil // its endpoint was deleted
	}
	if err != nil {
		return d, ep, e, 0, true, err
	}
	if d.Status != DeliveryPending {
		return d, ep, e, 0, true, nil
	}
	if wait := d.NextAttemptAt.Sub(now); wait > 0 {
		if wait > skew {
			return d, ep, e, 0, true, nil // a later job of this delivery (a retry) owns it
		}
		return d, ep, e, wait, true, nil
	}
	if held := d.LeaseUntil.Sub(now); held > 0 {
		// Another attempt holds it: alive, it records its outcome and its own job goes on; dead
		// (its process was killed, this job is its rescue), the lease runs out and this job
		// makes the attempt. Come back then.
		return d, ep, e, held + time.Second, true, nil
	}
	leased, err := s.cfg.Store.LeaseWebhookDelivery(ctx, d.ID, now, now.Add(lease))
	if err != nil {
		return d, ep, e, 0, true, err
	}
	if !leased {
		return d, ep, e, lease + time.Second, true, nil // taken meanwhile (or settled): look again once its lease has run out
	}
	ep, err = s.cfg.Store.WebhookEndpoint(ctx, d.EndpointID)
	if errors.Is(err, ErrNotFound) {
		return d, ep, e, 0, true, nil
	}
	if err != nil {
		return d, ep, e, 0, true, s.release(ctx, d, err)
	}
	if ep.Status != StatusEnabled {
		d.Status, d.LastError, d.NextAttemptAt, d.UpdatedAt = DeliveryFailed, "the endpoint is disabled", time.Time{}, s.cfg.DeliveryClock.Now()
		return d, ep, e, 0, true, s.cfg.Store.InTx(ctx, func(tx Tx) error { return tx.RecordWebhookAttempt(ctx, d) })
	}
	e, err = s.cfg.Store.Event(ctx, d.EventID)
	if errors.Is(err, events.ErrNotFound) {
		return d, ep, e, 0, true, nil // purged: its deliveries went with it
	}
	if err != nil {
		return d, ep, e, 0, true, s.release(ctx, d, err)
	}
	return d, ep, e, 0, false, nil
}

// release gives the lease back after an attempt that could not be made, and returns cause.
func (s *Service) release(ctx context.Context, d Delivery, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.InTx(ctx, func(tx Tx) error { return tx.RecordWebhookAttempt(ctx, d) }); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// send posts one signed message; it returns the answer's status (0 without one) and, for a
// failure, why ("" for a success).
func (s *Service) send(ctx context.Context, ep Endpoint, eventID string, body []byte, now time.Time) (int, string) {
	headers, err := Headers(ep.secrets(now), eventID, now, body)
	if err != nil {
		return 0, "cannot sign: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "bad URL"
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vhupay-webhooks/1")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, describe(err, s.cfg.Timeout)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, ""
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Sprintf("HTTP %d: redirects are not followed", resp.StatusCode)
	}
	return resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// describe says why an attempt got no answer, briefly.
func describe(err error, timeout time.Duration) string {
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, ErrAddressRefused):
		return "refused: the URL's host is, or resolves to, a loopback, private, link-local or metadata address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}
