package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrAddressRefused is returned when an endpoint's host is, or resolves to, an address vhupay
// never connects to.
var ErrAddressRefused = errors.New("address refused")

// Guard decides where deliveries may connect (server-side request forgery). It is applied when
// a delivery connects, to every address the host resolves to at that moment, so that a URL saved
// while it resolved elsewhere cannot reach an internal address later.
type Guard struct {
	// Sandbox allows http:// and loopback addresses (local receivers); production requires https
	// and refuses loopback too.
	Sandbox bool
	// Lookup resolves a host name (nil: the system resolver). Tests put their own.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// refusedPrefixes are special-purpose ranges no receiver lives at, besides the loopback, private,
// link-local and multicast ones that netip names.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT (also a metadata service's home)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64, which maps onto IPv4
	netip.MustParsePrefix("fd00:ec2::/32"),  // a cloud metadata service over IPv6
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, metadata (169.254.169.254)
	netip.MustParsePrefix("255.255.255.255/32"),
}

// Allowed reports whether a delivery may connect to a.
func (g Guard) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsPrivate() {
		return false
	}
	if a.IsLoopback() {
		return g.Sandbox
	}
	for _, p := range refusedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckURL checks an endpoint URL when it is saved: absolute, https (http too in the sandbox),
// no credentials, and, when the host is a literal address, an allowed one. Host names are checked
// again at each connection.
func (g Guard) CheckURL(raw string) error {
	if len(raw) > 2048 {
		return fmt.Errorf("the URL is longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && g.Sandbox:
	case u.Scheme == "http":
		return fmt.Errorf("the URL must use https")
	default:
		return fmt.Errorf("the URL must use https")
	}
	if u.User != nil {
		return fmt.Errorf("the URL must not carry credentials")
	}
	if u.Fragment != "" {
		return fmt.Errorf("the URL must not have a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("the URL has no host")
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && !g.Allowed(a) {
		return fmt.Errorf("the URL's address is not reachable from vhupay (loopback, private, link-local or metadata)")
	}
	return nil
}

func (g Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if g.Lookup != nil {
		return g.Lookup(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// DialContext resolves addr's host, refuses it unless every address it resolves to is allowed,
// and connects to the first that answers. The dialer checks the address again just before each
// connection (its Control function), so nothing else can reach a refused address.
func (g Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := g.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no address", host)
	}
	for _, a := range addrs {
		if !g.Allowed(a) {
			return nil, fmt.Errorf("connect to %s (%s): %w", host, a.Unmap(), ErrAddressRefused)
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second, Control: g.control}
	var first error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// control runs after the socket is made and before it connects.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", address, ErrAddressRefused)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("connect to %s: %w", ap.Addr().Unmap(), ErrAddressRefused)
	}
	return nil
}

// Client is the HTTP client of deliveries: connections through the guard, no proxy, no
// redirects followed (a 3xx is a failed attempt), timeout per attempt.
func (g Guard) Client(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          20,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       60 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
