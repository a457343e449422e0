package sepa

import (
	"errors"
	"testing"
	"time"
)

func TestValidUntil(t *testing.T) {
	p := DefaultScorePolicy()
	checked := now.Add(-10 * day)
	tests := []struct {
		name   string
		state  ScoreState
		want   time.Time
		wantOK bool
	}{
		{"no score", ScoreState{}, time.Time{}, false},
		{"no score, partner down", ScoreState{UnavailableAt: now}, time.Time{}, false},
		{"latest attempt succeeded", ScoreState{Latest: &Score{14, checked}}, checked.Add(31 * day), true},
		{"latest attempt failed", ScoreState{Latest: &Score{14, checked}, UnavailableAt: now}, checked.Add(45 * day), true},
		{"older failure", ScoreState{Latest: &Score{14, checked}, UnavailableAt: checked.Add(-time.Second)}, checked.Add(31 * day), true},
	}
	for _, tt := range tests {
		got, ok := p.ValidUntil(tt.state)
		if ok != tt.wantOK || !got.Equal(tt.want) {
			t.Errorf("%s: ValidUntil = %s %v, want %s %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestNeedsCheck(t *testing.T) {
	p := DefaultScorePolicy()
	tests := []struct {
		name   string
		latest *Score
		want   bool
	}{
		{"no score", nil, true},
		{"checked today", scored(14, time.Hour), false},
		{"31 days minus 1ns", scored(14, 31*day-1), false},
		{"exactly 31 days", scored(14, 31*day), true},
		{"40 days", scored(14, 40*day), true},
		{"low but fresh", scored(3, day), false},
	}
	for _, tt := range tests {
		if got := p.NeedsCheck(tt.latest, now); got != tt.want {
			t.Errorf("%s: NeedsCheck = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestScorePolicyValidate(t *testing.T) {
	if err := DefaultScorePolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	bad := []func(*ScorePolicy){
		func(p *ScorePolicy) { p.Minimum = -1 },
		func(p *ScorePolicy) { p.Minimum = 21 },
		func(p *ScorePolicy) { p.FreshFor = 0 },
		func(p *ScorePolicy) { p.GraceFor = p.FreshFor - 1 },
	}
	for i, change := range bad {
		p := DefaultScorePolicy()
		change(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("case %d: Validate = %v, want ErrInvalidPolicy", i, err)
		}
	}
}
