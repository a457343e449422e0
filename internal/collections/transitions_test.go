package collections

import "testing"

// TestCollectionTransitions lists every move between a collection's statuses (and an unknown
// one), allowed or refused.
func TestCollectionTransitions(t *testing.T) {
	all := []Status{StatusPending, StatusSubmitted, StatusSucceeded, StatusFailed, StatusRetrying, StatusRecovered, "", "refunded"}
	allowed := map[[2]Status]bool{
		{StatusPending, StatusSubmitted}:   true,
		{StatusSubmitted, StatusSucceeded}: true,
		{StatusPending, StatusFailed}:      true,
		{StatusSubmitted, StatusFailed}:    true,
		{StatusSucceeded, StatusFailed}:    true, // a late failure or a repudiation
		{StatusSubmitted, StatusRetrying}:  true, // insufficient funds: presented again later
		{StatusRetrying, StatusSubmitted}:  true, // the re-presentation
		{StatusRetrying, StatusFailed}:     true, // the re-presentation could not be made
		{StatusFailed, StatusRecovered}:    true, // paid by card
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := from.CanBecome(to), allowed[[2]Status{from, to}]; got != want {
				t.Errorf("%q → %q: CanBecome = %v, want %v", from, to, got, want)
			}
		}
	}
	for to, want := range map[Status][]Status{
		StatusSubmitted: {StatusPending, StatusRetrying}, StatusSucceeded: {StatusSubmitted},
		StatusFailed: {StatusPending, StatusSubmitted, StatusSucceeded, StatusRetrying}, StatusPending: nil,
		StatusRetrying: {StatusSubmitted}, StatusRecovered: {StatusFailed},
	} {
		got := Sources(to)
		if len(got) != len(want) {
			t.Errorf("Sources(%s) = %v, want %v", to, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Sources(%s) = %v, want %v", to, got, want)
			}
		}
	}
}
