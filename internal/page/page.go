// Package page implements keyset pagination: lists are ordered newest first by identifier, and a
// cursor is the opaque encoding of the last identifier of a page.
package page

import (
	"encoding/base64"
	"errors"
)

// Limits of a page.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// ErrBadCursor is returned for a cursor that this service did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// Request asks for one page: at most Limit items older than the item named by After ("" for the first page).
type Request struct {
	Limit int
	After string
}

// Page is one page of items and whether more follow.
type Page[T any] struct {
	Items   []T
	HasMore bool
	// Next is the cursor of the next page, "" on the last page.
	Next string
}

// Encode turns the last identifier of a page into a cursor.
func Encode(lastID string) string { return base64.RawURLEncoding.EncodeToString([]byte(lastID)) }

// Decode turns a cursor back into the identifier it names.
func Decode(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || len(b) > 64 {
		return "", ErrBadCursor
	}
	return string(b), nil
}

// Build cuts items fetched with limit+1 rows into a page; id returns an item's identifier.
func Build[T any](items []T, limit int, id func(T) string) Page[T] {
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.HasMore = true
		p.Next = Encode(id(p.Items[limit-1]))
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}
