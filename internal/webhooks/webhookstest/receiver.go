package webhookstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Message is one request a Receiver got.
type Message struct {
	Header http.Header
	Body   []byte
	// Status is what the receiver answered.
	Status int
}

// Receiver is an HTTP receiver on loopback that records every request and answers with the
// statuses of Plan in turn (200 once the plan is used up).
type Receiver struct {
	URL  string
	srv  *httptest.Server
	mu   sync.Mutex
	plan []int
	got  []Message
	// arrived is signalled (without blocking) on each request.
	arrived chan struct{}
}

// NewReceiver starts a receiver that answers plan's statuses first, then 200; it stops with the test.
func NewReceiver(t testing.TB, plan ...int) *Receiver {
	r := &Receiver{plan: plan, arrived: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	status := http.StatusOK
	if len(r.plan) > 0 {
		status, r.plan = r.plan[0], r.plan[1:]
	}
	r.got = append(r.got, Message{Header: req.Header.Clone(), Body: body, Status: status})
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
}

// Messages returns the requests received so far.
func (r *Receiver) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.got...)
}

// Await waits until done(messages) holds, or fails the test after a minute.
func (r *Receiver) Await(t testing.TB, what string, done func([]Message) bool) []Message {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if got := r.Messages(); done(got) {
			return got
		}
		select {
		case <-r.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("receiver: still waiting for %s after a minute; got %d messages", what, len(r.Messages()))
		}
	}
}
