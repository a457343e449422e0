// Package webhookstest verifies webhook deliveries as a receiver would, written from the Standard
// Webhooks specification alone (spec/standard-webhooks.md, "Signature scheme" and "Verifying
// signatures"), independently of vhupay's signer, and gives tests a receiver on loopback.
package webhookstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far webhook-timestamp may be from the receiver's clock (the specification's
// libraries use five minutes).
const Tolerance = 5 * time.Minute

// Verify checks a message as the specification says: the headers webhook-id, webhook-timestamp
// (Unix seconds, within Tolerance of now) and webhook-signature (space-separated "v1,<base64>"
// entries, at least one of which must equal base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
// the key being the base64-decoded part of the secret after "whsec_"), compared in constant time.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	msgID, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if msgID == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not Unix seconds", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); math.Abs(d.Seconds()) > Tolerance.Seconds() {
		return fmt.Errorf("webhook-timestamp %d is %s away from now", sec, d)
	}
	if !strings.HasPrefix(secret, "whsec_") {
		return errors.New("the secret does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil {
		return fmt.Errorf("the secret is not base64: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue // another scheme (v1a) or a malformed entry
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}
