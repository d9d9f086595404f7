// Package page is the platform's one shape of a paged list: a bounded
// page size and an opaque cursor that names the last item of the previous
// page by its sort key, so a walk over every page yields each item that
// stays in the list exactly once while others come and go.
package page

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ErrCursor means a cursor this platform did not issue (or for another list).
var ErrCursor = errors.New("is not a cursor this list issued")

// ErrLimit means a page size outside 1..MaxLimit.
var ErrLimit = errors.New("must be 1.." + strconv.Itoa(MaxLimit))

// Page is one page of a list; Next is the cursor of the following page,
// empty on the last one.
type Page[T any] struct {
	Items []T
	Next  string
}

// Limit reads a requested page size: empty means DefaultLimit.
func Limit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 {
		return 0, ErrLimit
	}
	return Size(n)
}

// Size checks a page size a use case was given: 0 means DefaultLimit.
func Size(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultLimit, nil
	case n < 1 || n > MaxLimit:
		return 0, ErrLimit
	}
	return n, nil
}

// sep never occurs in an id (ids are printable) or a number.
const sep = "\x1f"

// Encode makes a cursor of a list's name and an item's sort key.
func Encode(list string, key ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + sep + strings.Join(key, sep)))
}

// Decode reads a cursor Encode made for list with n key parts; the empty
// cursor (the first page) gives nil.
func Decode(list, cursor string, n int) ([]string, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrCursor
	}
	parts := strings.Split(string(raw), sep)
	if len(parts) != n+1 || parts[0] != list {
		return nil, ErrCursor
	}
	return parts[1:], nil
}
