package ledger

import (
	"errors"
	"math"
	"testing"
)

func TestCheck(t *testing.T) {
	ok := Transaction{Kind: "payment", SourceID: "pi_1", Postings: []Posting{
		{Buyer("byr_1"), -12000}, {Center("ctr_1"), 11400}, {PlatformFees, 600},
	}}
	if err := ok.Check(); err != nil {
		t.Fatalf("balanced transaction refused: %v", err)
	}
	for name, tx := range map[string]Transaction{
		"no kind":        {SourceID: "pi_1", Postings: ok.Postings},
		"no source":      {Kind: "payment", Postings: ok.Postings},
		"one posting":    {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{PlatformFees, 0}}},
		"zero amount":    {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{PlatformFees, 0}, {ExternalCard, 0}}},
		"unbalanced":     {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{PlatformFees, 5}, {ExternalCard, -4}}},
		"unknown":        {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{"platform:other", 5}, {ExternalCard, -5}}},
		"bare prefix":    {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{"center:ctr_", 5}, {ExternalCard, -5}}},
		"wrong id kind":  {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{"center:byr_1", 5}, {ExternalCard, -5}}},
		"overflow":       {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{PlatformFees, math.MaxInt64}, {ExternalCard, 1}, {ExternalBank, math.MinInt64}}},
		"overflow below": {Kind: "payment", SourceID: "pi_1", Postings: []Posting{{PlatformFees, math.MinInt64}, {ExternalCard, -1}, {ExternalBank, 1}}},
	} {
		if err := tx.Check(); !errors.Is(err, ErrUnbalanced) {
			t.Errorf("%s: Check() = %v, want ErrUnbalanced", name, err)
		}
	}
}
