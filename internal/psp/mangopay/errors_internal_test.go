package mangopay

import (
	"testing"
	"time"
)

func TestDecodeAPIErrorDate(t *testing.T) {
	want := time.Unix(1740581497, 0).UTC()
	for _, body := range []string{
		`{"Type":"param_error","Date":1740581497.0}`,
		`{"Type":"param_error","Date":1740581497}`,
		`{"Type":"param_error","Date":"1740581497"}`,
	} {
		e := decodeAPIError([]byte(body))
		if e.Type != "param_error" || !e.Time().Equal(want) {
			t.Errorf("%s: %+v, time %v", body, e, e.Time())
		}
	}
	if e := decodeAPIError([]byte(`{"Date":null}`)); !e.Time().IsZero() {
		t.Errorf("null Date gave %v", e.Time())
	}
	if e := decodeAPIError([]byte(`<html>`)); e.Type != "" {
		t.Errorf("HTML gave %+v", e)
	}
}
