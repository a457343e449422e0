package scoring

import (
	"context"
	"errors"
	"testing"
)

func TestInRange(t *testing.T) {
	for v, want := range map[int]bool{-1: false, 0: true, 10: true, 20: true, 21: false} {
		if got := InRange(v); got != want {
			t.Errorf("InRange(%d) = %v, want %v", v, got, want)
		}
	}
}

func TestFunc(t *testing.T) {
	var p Partner = Func(func(_ context.Context, siren string) (int, error) {
		if siren == "812345676" {
			return 14, nil
		}
		return 0, ErrUnknownCompany
	})
	if v, err := p.Score(context.Background(), "812345676"); v != 14 || err != nil {
		t.Errorf("Score = %d, %v", v, err)
	}
	if _, err := p.Score(context.Background(), "823456785"); !errors.Is(err, ErrUnknownCompany) {
		t.Errorf("Score = %v, want ErrUnknownCompany", err)
	}
}
