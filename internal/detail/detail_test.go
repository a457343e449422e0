package detail

import (
	"errors"
	"fmt"
	"testing"
)

func TestWrapAndOf(t *testing.T) {
	base := errors.New("order is not payable")
	err := fmt.Errorf("storage: %w", Wrap(base, "The order is %s.", "confirmed"))
	if !errors.Is(err, base) {
		t.Error("the sentinel is lost")
	}
	if d, ok := Of(err); !ok || d != "The order is confirmed." {
		t.Errorf("Of = %q, %v", d, ok)
	}
	if _, ok := Of(base); ok {
		t.Error("a plain error has a detail")
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
