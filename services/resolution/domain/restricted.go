package domain

import (
	"fmt"
	"log/slog"
	"unicode/utf8"
)

// redacted is what every printing path shows instead of restricted content.
const redacted = "[restricted]"

// Restricted holds free text that must never reach logs, events, spans or
// metrics: narratives, named parties, witnesses, notes. Every formatting and
// encoding path (fmt verbs, slog, encoding/json, encoding.TextMarshaler)
// prints a placeholder; only Reveal returns the content, so reading it is a
// deliberate, greppable act (adapters call it just before sealing).
//
// The field is unexported so that reflection-based encoders (gob, %#v via
// GoString) cannot reach it either.
type Restricted struct {
	v string
}

// Restrict wraps s as restricted content.
func Restrict(s string) Restricted { return Restricted{v: s} }

// Reveal returns the content. Call it only to seal or to show it to an
// authorised reader.
func (r Restricted) Reveal() string { return r.v }

// IsZero reports whether there is no content (encoding/json omitzero honours it).
func (r Restricted) IsZero() bool { return r.v == "" }

// RuneLen is the content's length in characters (runes), the unit limits use.
func (r Restricted) RuneLen() int { return utf8.RuneCountInString(r.v) }

// String implements fmt.Stringer with a placeholder.
func (r Restricted) String() string { return redacted }

// GoString implements fmt.GoStringer so %#v cannot dump the field.
func (r Restricted) GoString() string { return "domain.Restricted{" + redacted + "}" }

// Format implements fmt.Formatter so verbs that bypass Stringer (%d, %x on
// structs, %q...) still print only the placeholder.
func (r Restricted) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, r.GoString())
		return
	}
	_, _ = fmt.Fprint(f, redacted)
}

// LogValue implements slog.LogValuer.
func (r Restricted) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON emits the placeholder: a store or event that needs the content
// must seal Reveal() explicitly instead of serialising this type.
func (r Restricted) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText emits the placeholder for text encoders (map keys, YAML, XML).
func (r Restricted) MarshalText() ([]byte, error) { return []byte(redacted), nil }
