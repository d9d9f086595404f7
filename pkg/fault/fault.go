// Package fault is the platform's one vocabulary of error kinds: what went
// wrong, in terms a caller can act on. Domains and use cases return these;
// the HTTP layer (pkg/httpapi) maps each kind to one status and an RFC 9457
// problem, so no service writes its own mapping.
//
// It depends on the standard library only, so domain packages may import it.
//
// Details are shown to clients: they name fields and limits, never values,
// which may be restricted.
package fault

import (
	"strings"
	"time"
)

// Kind is the class of an error. A Kind is itself an error, so a domain can
// return one as a sentinel and callers test any error with
// errors.Is(err, fault.NotFound).
type Kind string

// The kinds and the HTTP status each maps to.
const (
	// NotFound: no such thing, or one the caller may not know exists (404;
	// answered alike so the answer reveals nothing).
	NotFound Kind = "not found"
	// Forbidden: the caller is known and may see the thing, but may not do
	// this (403).
	Forbidden Kind = "forbidden"
	// Conflict: not possible in the thing's current state (409).
	Conflict Kind = "conflict"
	// Invalid: the input breaks a rule; Fields names each bad field (422).
	Invalid Kind = "invalid"
	// TooLarge: the input is larger than allowed (413).
	TooLarge Kind = "too large"
	// Unauthenticated: credentials are missing or wrong (401).
	Unauthenticated Kind = "unauthenticated"
	// Limited: the caller sent too many requests or failed attempts; retry
	// after RetryAfter (429 with Retry-After).
	Limited Kind = "limited"
	// Unavailable: the work cannot be done right now but a retry may
	// succeed — a dependency is down, or concurrent writers kept winning
	// (503 with Retry-After).
	Unavailable Kind = "unavailable"
)

func (k Kind) Error() string { return string(k) }

// Field names one bad input field by its JSON path (e.g. "involved[2].role")
// and says why, without repeating the value.
//
// The tags are its wire form in problem documents (pkg/httpapi).
type Field struct {
	Field  string `json:"field" desc:"Dotted path of the field in the request body, e.g. reporter.department"`
	Reason string `json:"reason" desc:"Why the value was rejected"`
}

// Error is a classified error with a client-safe detail.
type Error struct {
	Kind Kind
	// Detail explains this occurrence to the client; never a value.
	Detail string
	// Fields lists every bad field (Invalid).
	Fields []Field
	// RetryAfter tells the client when to retry (Unavailable; 0 means the
	// HTTP layer's default).
	RetryAfter time.Duration
	// Cause is the underlying error, for logs; never sent to clients.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	for _, f := range e.Fields {
		b.WriteString("; ")
		b.WriteString(f.Field)
		b.WriteByte(' ')
		b.WriteString(f.Reason)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, kind) hold for an Error of that kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of kind with a client-safe detail.
func New(kind Kind, detail string) *Error { return &Error{Kind: kind, Detail: detail} }

// Wrap classifies cause as kind with a client-safe detail; cause stays in
// the chain for logs and errors.Is.
func Wrap(kind Kind, detail string, cause error) *Error {
	return &Error{Kind: kind, Detail: detail, Cause: cause}
}

// InvalidFields is an Invalid error naming every bad field.
func InvalidFields(detail string, fields ...Field) *Error {
	return &Error{Kind: Invalid, Detail: detail, Fields: fields}
}

// TooMany is a Limited error telling the client when to retry.
func TooMany(detail string, after time.Duration) *Error {
	return &Error{Kind: Limited, Detail: detail, RetryAfter: after}
}

// Retry is an Unavailable error telling the client when to retry.
func Retry(detail string, after time.Duration, cause error) *Error {
	return &Error{Kind: Unavailable, Detail: detail, RetryAfter: after, Cause: cause}
}

// Classifier is implemented by a domain's own error types that carry more
// than a kind (a case's current state, the lines of an import): Fault says
// how the error reads to a client.
type Classifier interface {
	error
	Fault() *Error
}

// KindOf returns the kind of the first classified error in err's chain, or
// "" when there is none (an unexpected failure).
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return ""
}

// As returns the first classified error in err's chain as an *Error: an
// *Error itself, a Classifier's Fault, or a bare Kind (with no detail).
func As(err error) (*Error, bool) {
	for err != nil {
		switch e := err.(type) {
		case *Error:
			return e, true
		case Classifier:
			if f := e.Fault(); f != nil {
				return f, true
			}
		case Kind:
			return &Error{Kind: e}, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if f, ok := As(e); ok {
					return f, true
				}
			}
			return nil, false
		default:
			return nil, false
		}
	}
	return nil, false
}

// Fields collects field problems and returns them as one Invalid error.
// The zero value is ready.
type Fields struct{ list []Field }

// Add records one bad field.
func (f *Fields) Add(field, reason string) {
	f.list = append(f.list, Field{Field: field, Reason: reason})
}

// Len is how many problems were recorded.
func (f *Fields) Len() int { return len(f.list) }

// List returns the recorded problems.
func (f *Fields) List() []Field { return append([]Field(nil), f.list...) }

// Err returns nil when nothing was recorded, else an Invalid error with
// detail and every field.
func (f *Fields) Err(detail string) error {
	if len(f.list) == 0 {
		return nil
	}
	return InvalidFields(detail, f.List()...)
}
