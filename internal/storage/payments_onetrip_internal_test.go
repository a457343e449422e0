package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vhupay/vhupay/internal/idempotency"
)

// A one-trip write that failed wrote nothing (one statement): the payment takes the general path
// when the database made it give way or a condition no longer held, answers the key's conflict
// when the key is taken, and returns any other failure (a cancelled request, a lost connection)
// as the error it is.
func TestOneTripFailed(t *testing.T) {
	lost := errors.New("connection reset by peer")
	for _, tc := range []struct {
		name     string
		err      error
		wantErr  error
		fallback bool
	}{
		{"condition no longer held", &pgconn.PgError{Code: oneTripNotHeld, Message: "not held: the order is unchanged"}, nil, true},
		{"key taken", &pgconn.PgError{Code: oneTripNotHeld, Message: "not held: the Idempotency-Key is free"}, idempotency.ErrTaken, false},
		{"open intent appeared", &pgconn.PgError{Code: "23505"}, nil, true},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, nil, true},
		{"deadlock", fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01"}), nil, true},
		{"another database error", &pgconn.PgError{Code: "53300"}, &pgconn.PgError{Code: "53300"}, false},
		{"request cancelled", context.Canceled, context.Canceled, false},
		{"connection lost", lost, lost, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, err := oneTripFailed(tc.err)
			if done {
				t.Fatal("a failed statement reported as written")
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err = %v, want nil (the general path)", err)
			case tc.wantErr != nil && err == nil:
				t.Fatalf("err = nil, want %v", tc.wantErr)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr) && err.Error() != tc.wantErr.Error():
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
