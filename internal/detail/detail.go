// Package detail attaches to a domain error the sentence its caller reads: what happened, in the
// resource's own terms (its status, the state wanted), and what to do. The HTTP edge answers it as
// the problem's detail; the error's own text, which may carry ids or internal wording, stays in
// the logs.
package detail

import (
	"errors"
	"fmt"
)

type detailed struct {
	err    error
	detail string
}

func (d *detailed) Error() string { return d.err.Error() }
func (d *detailed) Unwrap() error { return d.err }

// Wrap returns err with the sentence for its caller (errors.Is and As still see err).
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &detailed{err: err, detail: fmt.Sprintf(format, args...)}
}

// Of returns the sentence attached to err or to an error it wraps (the outermost one).
func Of(err error) (string, bool) {
	var d *detailed
	if errors.As(err, &d) {
		return d.detail, true
	}
	return "", false
}
