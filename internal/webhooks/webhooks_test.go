package webhooks_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/webhooks"
	"github.com/vhupay/vhupay/internal/webhooks/webhookstest"
)

// The specification libraries' own test vector: our signature must be theirs.
func TestSignatureMatchesTheSpecificationsVector(t *testing.T) {
	sig, err := webhooks.Signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Errorf("signature = %s, want %s", sig, want)
	}
}

func TestHeadersVerifyIndependently(t *testing.T) {
	now := time.Now()
	oldSecret, newSecret := webhooks.NewSecret(), webhooks.NewSecret()
	if !strings.HasPrefix(newSecret, "whsec_") || len(newSecret) != len("whsec_")+44 {
		t.Fatalf("secret %q is not whsec_ + base64 of 32 bytes", newSecret)
	}
	body := []byte(`{"id":"evt_1","type":"order.confirmed"}`)
	hs, err := webhooks.Headers([]string{newSecret, oldSecret}, "evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range hs {
		h.Set(k, v)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("a rotation signs twice, got %d signatures", n)
	}
	for _, s := range []string{newSecret, oldSecret} {
		if err := webhookstest.Verify(s, h, body, now); err != nil {
			t.Errorf("verify with one of the two secrets: %v", err)
		}
	}
	if err := webhookstest.Verify(webhooks.NewSecret(), h, body, now); err == nil {
		t.Error("another secret verified")
	}
	if err := webhookstest.Verify(newSecret, h, append(body, ' '), now); err == nil {
		t.Error("a changed body verified")
	}
	if err := webhookstest.Verify(newSecret, h, body, now.Add(10*time.Minute)); err == nil {
		t.Error("an old timestamp verified")
	}
}

func TestGuardAddresses(t *testing.T) {
	prod, sandbox := webhooks.Guard{}, webhooks.Guard{Sandbox: true}
	for _, tc := range []struct {
		addr          string
		prod, sandbox bool
	}{
		{"93.184.215.14", true, true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true, true},
		{"127.0.0.1", false, true},
		{"127.8.9.10", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.169.254", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"100.100.100.200", false, false},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"fc00::1", false, false},
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := prod.Allowed(a); got != tc.prod {
			t.Errorf("production Allowed(%s) = %v", tc.addr, got)
		}
		if got := sandbox.Allowed(a); got != tc.sandbox {
			t.Errorf("sandbox Allowed(%s) = %v", tc.addr, got)
		}
	}
}

func TestGuardURLs(t *testing.T) {
	prod, sandbox := webhooks.Guard{}, webhooks.Guard{Sandbox: true}
	for _, tc := range []struct {
		url           string
		prod, sandbox bool
	}{
		{"https://erp.example.fr/hooks", true, true},
		{"http://erp.example.fr/hooks", false, true},
		{"http://127.0.0.1:9000/hooks", false, true},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://[::1]/x", false, true},
		{"https://user:pw@erp.example.fr/", false, false},
		{"ftp://erp.example.fr/", false, false},
		{"/relative", false, false},
		{"https://", false, false},
		{"https://erp.example.fr/\x00", false, false},
	} {
		if err := prod.CheckURL(tc.url); (err == nil) != tc.prod {
			t.Errorf("production CheckURL(%q) = %v", tc.url, err)
		}
		if err := sandbox.CheckURL(tc.url); (err == nil) != tc.sandbox {
			t.Errorf("sandbox CheckURL(%q) = %v", tc.url, err)
		}
	}
}

// A host name that resolves to a refused address is refused when the delivery connects, before
// any packet is sent, whatever it resolved to when the URL was saved.
func TestGuardRefusesAtConnectionTime(t *testing.T) {
	resolveTo := map[string]string{}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		a, ok := resolveTo[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	receiver := webhookstest.NewReceiver(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(receiver.URL, "http://"))

	prod := webhooks.Guard{Lookup: lookup}
	if err := prod.CheckURL("https://hooks.partner.test:" + port + "/in"); err != nil {
		t.Fatalf("a public-looking name is accepted when saved: %v", err)
	}
	client := prod.Client(2 * time.Second)
	for host, addr := range map[string]string{"loopback.partner.test": "127.0.0.1", "metadata.partner.test": "169.254.169.254",
		"private.partner.test": "10.1.2.3", "v6.partner.test": "::1"} {
		resolveTo[host] = addr
		_, err := client.Post("http://"+net.JoinHostPort(host, port)+"/in", "application/json", strings.NewReader("{}"))
		if !errors.Is(err, webhooks.ErrAddressRefused) {
			t.Errorf("production, %s → %s: err = %v, want ErrAddressRefused", host, addr, err)
		}
	}
	if _, err := client.Post(receiver.URL, "application/json", strings.NewReader("{}")); !errors.Is(err, webhooks.ErrAddressRefused) {
		t.Errorf("production, literal loopback: err = %v", err)
	}
	if n := len(receiver.Messages()); n != 0 {
		t.Fatalf("the receiver on loopback got %d requests in production mode", n)
	}

	sandbox := webhooks.Guard{Sandbox: true, Lookup: lookup}
	resp, err := sandbox.Client(2*time.Second).Post("http://"+net.JoinHostPort("loopback.partner.test", port)+"/in", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("sandbox, loopback: %v", err)
	}
	resp.Body.Close()
	if _, err := sandbox.Client(2 * time.Second).Get("http://metadata.partner.test:80/latest"); !errors.Is(err, webhooks.ErrAddressRefused) {
		t.Errorf("sandbox, metadata: err = %v", err)
	}
}

func TestEndpointWants(t *testing.T) {
	ev := events.Event{ID: "evt_1", Type: "order.confirmed", BuyerID: "byr_1", CenterID: "ctr_1"}
	mismatch := events.Event{ID: "evt_2", Type: "reconciliation.mismatch"}
	for _, tc := range []struct {
		name string
		ep   webhooks.Endpoint
		e    events.Event
		want bool
	}{
		{"platform, all", webhooks.Endpoint{Status: webhooks.StatusEnabled, EnabledEvents: []string{"*"}}, ev, true},
		{"platform, platform type", webhooks.Endpoint{Status: webhooks.StatusEnabled, EnabledEvents: []string{"*"}}, mismatch, true},
		{"disabled", webhooks.Endpoint{Status: webhooks.StatusDisabled, EnabledEvents: []string{"*"}}, ev, false},
		{"centre, own", webhooks.Endpoint{CenterID: "ctr_1", Status: webhooks.StatusEnabled, EnabledEvents: []string{"order.confirmed"}}, ev, true},
		{"centre, other type", webhooks.Endpoint{CenterID: "ctr_1", Status: webhooks.StatusEnabled, EnabledEvents: []string{"order.cancelled"}}, ev, false},
		{"centre, another's", webhooks.Endpoint{CenterID: "ctr_2", Status: webhooks.StatusEnabled, EnabledEvents: []string{"*"}}, ev, false},
		{"centre, platform type", webhooks.Endpoint{CenterID: "ctr_1", Status: webhooks.StatusEnabled, EnabledEvents: []string{"*"}}, mismatch, false},
	} {
		if got := tc.ep.Wants(tc.e); got != tc.want {
			t.Errorf("%s: Wants = %v", tc.name, got)
		}
	}
}
