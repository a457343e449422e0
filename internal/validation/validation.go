// Package validation carries field-level input errors from the domain to the HTTP edge, where they
// become the problem's "errors" array. Field names are the JSON paths of the contract ("lines[0].quantity").
package validation

import (
	"errors"
	"strings"
)

// FieldError says what is wrong with one field.
type FieldError struct {
	Field   string
	Code    string // "required", "min", "max", "oneof", "format", "invalid", ...
	Message string
}

// Error is a failed validation of one or more fields. errors.Is(err, ErrInvalid) holds for it.
type Error struct {
	Fields []FieldError
}

// ErrInvalid is matched by every *Error.
var ErrInvalid = errors.New("validation failed")

func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Field returns an *Error about a single field.
func Field(field, code, message string) *Error {
	return &Error{Fields: []FieldError{{Field: field, Code: code, Message: message}}}
}

// Collector gathers field errors; Err returns nil when none were added.
type Collector struct{ fields []FieldError }

// Add records a field error.
func (c *Collector) Add(field, code, message string) {
	c.fields = append(c.fields, FieldError{Field: field, Code: code, Message: message})
}

// Err returns the collected errors as an *Error, or nil.
func (c *Collector) Err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return &Error{Fields: c.fields}
}
