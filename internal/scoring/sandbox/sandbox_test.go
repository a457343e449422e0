package sandbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vhupay/vhupay/internal/scoring"
	"github.com/vhupay/vhupay/internal/scoring/sandbox"
)

type memory map[string]sandbox.Answer

func (m memory) SandboxScore(_ context.Context, siren string) (sandbox.Answer, bool, error) {
	a, ok := m[siren]
	return a, ok, nil
}

func (m memory) SetSandboxScore(_ context.Context, siren string, a sandbox.Answer) error {
	m[siren] = a
	return nil
}

type broken struct{ memory }

func (broken) SandboxScore(context.Context, string) (sandbox.Answer, bool, error) {
	return sandbox.Answer{}, false, errors.New("database down")
}

func TestPartner(t *testing.T) {
	ctx := context.Background()
	p := sandbox.New(memory{})
	if v, err := p.Score(ctx, "812345676"); v != sandbox.DefaultScore || err != nil {
		t.Errorf("default = %d, %v", v, err)
	}
	if a, err := p.Set(ctx, "812345676", sandbox.Answer{Value: 8}); err != nil || a.Value != 8 {
		t.Fatalf("Set = %+v, %v", a, err)
	}
	if v, err := p.Score(ctx, "812345676"); v != 8 || err != nil {
		t.Errorf("after Set = %d, %v", v, err)
	}
	if a, err := p.Set(ctx, "812345676", sandbox.Answer{Value: 3, Unavailable: true}); err != nil || a.Value != 0 || !a.Unavailable {
		t.Fatalf("Set unavailable = %+v, %v", a, err)
	}
	if _, err := p.Score(ctx, "812345676"); !errors.Is(err, scoring.ErrUnavailable) {
		t.Errorf("unavailable: err %v", err)
	}
	for _, v := range []int{-1, 21} {
		if _, err := p.Set(ctx, "812345676", sandbox.Answer{Value: v}); !errors.Is(err, sandbox.ErrInvalidAnswer) {
			t.Errorf("Set(%d): err %v", v, err)
		}
	}
	if _, err := sandbox.New(broken{}).Score(ctx, "812345676"); !errors.Is(err, scoring.ErrUnavailable) {
		t.Errorf("store down: err %v", err)
	}
}
