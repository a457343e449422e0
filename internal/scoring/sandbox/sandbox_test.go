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

func (m memory) SandboxScoresOf(_ context.Context, sirens []string) (map[string]sandbox.Answer, error) {
	out := map[string]sandbox.Answer{}
	for _, siren := range sirens {
		if a, ok := m[siren]; ok {
			out[siren] = a
		}
	}
	return out, nil
}

func (m memory) SetSandboxScore(_ context.Context, siren string, a sandbox.Answer) error {
	m[siren] = a
	return nil
}

type broken struct{ memory }

func (broken) SandboxScoresOf(context.Context, []string) (map[string]sandbox.Answer, error) {
	return nil, errors.New("database down")
}

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

// TestPartnerScoreMany: a batch gets, SIREN by SIREN and in order, what Score answers: the
// default, a value set, unavailable; a store that fails makes every answer unavailable; a
// context that ended is the call's error.
func TestPartnerScoreMany(t *testing.T) {
	ctx := context.Background()
	p := sandbox.New(memory{"823456785": {Value: 7}, "834567893": {Unavailable: true}})
	sirens := []string{"812345676", "823456785", "834567893", "823456785"}
	got, err := p.ScoreMany(ctx, sirens)
	if err != nil || len(got) != len(sirens) {
		t.Fatalf("ScoreMany = %+v, %v", got, err)
	}
	for i, siren := range sirens {
		v, err := p.Score(ctx, siren)
		if got[i].Value != v || (got[i].Err == nil) != (err == nil) || (err != nil && !errors.Is(got[i].Err, scoring.ErrUnavailable)) {
			t.Errorf("%s: ScoreMany %+v, Score %d, %v", siren, got[i], v, err)
		}
	}
	down, err := sandbox.New(broken{}).ScoreMany(ctx, sirens[:2])
	if err != nil || len(down) != 2 || !errors.Is(down[0].Err, scoring.ErrUnavailable) || !errors.Is(down[1].Err, scoring.ErrUnavailable) {
		t.Errorf("store down: %+v, %v", down, err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sandbox.New(broken{}).ScoreMany(ended, sirens); !errors.Is(err, context.Canceled) {
		t.Errorf("ended: err %v", err)
	}
}
