package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// TestAPIKeysStore checks on both databases that only the digest is stored, that last_used_at is
// written at most once per apikeys.TouchEvery, that revocation is immediate, and that a key and
// its audit entry commit together.
func TestAPIKeysStore(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := txn.WithRequestID(context.Background(), "req-keys")
		db := storagetest.Open(t, b)
		clk := clock.NewManual(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		svc := apikeys.NewService(storage.NewAPIKeys(db), storage.NewParties(db), clk, nil)
		admin := auth.Principal{Subject: "admin-1", Role: auth.RoleAdmin}

		k, secret, err := svc.Create(ctx, admin, apikeys.CreateInput{Name: "marketplace", Role: auth.RoleService})
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := db.SQL().QueryRowContext(ctx, "SELECT secret_hash FROM api_keys WHERE id = '"+k.ID+"'").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != apikeys.Hash(secret) || stored == secret {
			t.Errorf("stored %q, want the SHA-256 of the secret", stored)
		}
		var actor, rid string
		if err := db.SQL().QueryRowContext(ctx, "SELECT actor_sub, request_id FROM audit_events WHERE action = 'api_key.create' AND target_id = '"+k.ID+"'").Scan(&actor, &rid); err != nil || actor != "admin-1" || rid != "req-keys" {
			t.Errorf("creation audit entry: actor %q request %q err %v", actor, rid, err)
		}

		lastUsed := func() time.Time {
			t.Helper()
			got, err := svc.Key(ctx, admin, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.LastUsedAt
		}
		p, err := svc.Authenticate(ctx, secret)
		if err != nil || p.Role != auth.RoleService || p.APIKeyID != k.ID || p.Subject != k.ID || p.Org != "" {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
		first := clk.Now()
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("last_used_at = %v, want %v", got, first)
		}
		clk.Advance(30 * time.Second)
		if _, err := svc.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("last_used_at = %v after 30 s, want it unchanged (%v)", got, first)
		}
		clk.Advance(31 * time.Second)
		if _, err := svc.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(clk.Now()) {
			t.Errorf("last_used_at = %v after 61 s, want %v", got, clk.Now())
		}

		// Concurrent requests with the key (other processes alike): all authenticated; the conditional
		// update lets one of them set last_used_at.
		clk.Advance(2 * time.Minute)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				if _, err := svc.Authenticate(ctx, secret); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent Authenticate: %v", err)
		}
		if got := lastUsed(); !got.Equal(clk.Now()) {
			t.Errorf("last_used_at = %v after concurrent uses, want %v", got, clk.Now())
		}

		if _, err := svc.Revoke(ctx, admin, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(revoked) = %v, want ErrUnauthenticated", err)
		}
		if _, err := svc.Authenticate(ctx, secret[:len(secret)-1]+"!"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(unknown) = %v, want ErrUnauthenticated", err)
		}

		// A key whose audit entry fails is not stored (they commit together).
		boom := errors.New("audit refused")
		keys := storage.NewAPIKeys(db)
		err = keys.InTx(ctx, func(tx apikeys.Tx) error {
			if err := tx.InsertAPIKey(ctx, apikeys.Key{ID: "key_rollback", Name: "x", Role: auth.RoleService, Last4: "abcd", CreatedBy: "a", CreatedAt: clk.Now()}, "h"); err != nil {
				return err
			}
			if err := tx.Audit(ctx, txn.AuditEntry{Action: "api_key.create", Actor: admin.Actor(), TargetID: "key_rollback", At: clk.Now()}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		all, err := keys.APIKeys(ctx, "", page.Request{Limit: 10})
		if err != nil || len(all.Items) != 1 {
			t.Errorf("keys after a rollback = %+v, %v; want the first only", all.Items, err)
		}
		var n int
		_ = db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE target_id = 'key_rollback'").Scan(&n)
		if n != 0 {
			t.Errorf("%d audit entries of a rolled back key", n)
		}
	})
}
