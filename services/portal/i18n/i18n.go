// Package i18n holds the portal's words in every language it speaks
// (English and Spanish: Spanish is the language US hospitals need most),
// picks a language for a request, and formats dates the way each language
// writes them. Every language has every key; a test holds them to it.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"
)

//go:embed locales/*.json
var files embed.FS

// Languages the portal speaks, the default first.
var Languages = []string{"en", "es"}

// Catalog is every message of every language.
type Catalog struct {
	msgs    map[string]map[string]string
	matcher language.Matcher
}

// Load reads the embedded catalogs.
func Load() (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]string{}}
	var tags []language.Tag
	for _, l := range Languages {
		b, err := files.ReadFile("locales/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n: locales/%s.json: %w", l, err)
		}
		c.msgs[l] = m
		tags = append(tags, language.MustParse(l))
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// Keys lists the keys of language l, sorted (the completeness test).
func (c *Catalog) Keys(l string) []string {
	var out []string
	for k := range c.msgs[l] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Supported reports whether l is one of Languages.
func Supported(l string) bool { return slices.Contains(Languages, l) }

// Pick chooses the language of a request: an explicit choice (a ?lang=
// link, a form field, a signed-in person's setting) when it is supported,
// else the best match of Accept-Language, else English.
func (c *Catalog) Pick(explicit string, r *http.Request) (lang string, chosen bool) {
	if Supported(explicit) {
		return explicit, true
	}
	_, idx, conf := c.matcher.Match(parseAccept(r.Header.Get("Accept-Language"))...)
	if conf == language.No {
		return Languages[0], false
	}
	return Languages[idx], false
}

func parseAccept(h string) []language.Tag {
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil || len(tags) == 0 {
		return []language.Tag{language.English}
	}
	return tags
}

// Localizer speaks one language. Templates call its methods.
type Localizer struct {
	c    *Catalog
	Lang string
	// Explicit is set when the language was chosen rather than negotiated;
	// links then carry it (no cookie remembers it for anonymous people).
	Explicit bool
	TZ       *time.Location
}

// For returns the localizer of lang.
func (c *Catalog) For(lang string, explicit bool, tz *time.Location) Localizer {
	if !Supported(lang) {
		lang = Languages[0]
	}
	if tz == nil {
		tz = time.UTC
	}
	return Localizer{c: c, Lang: lang, Explicit: explicit, TZ: tz}
}

// T is the message key in the localizer's language, formatted with args
// (fmt verbs); a missing key shows itself, which the tests catch.
func (l Localizer) T(key string, args ...any) string {
	s, ok := l.c.msgs[l.Lang][key]
	if !ok {
		s, ok = l.c.msgs[Languages[0]][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Has reports whether key exists.
func (l Localizer) Has(key string) bool {
	_, ok := l.c.msgs[l.Lang][key]
	return ok
}

// HTML is T for messages that carry markup the catalog itself wrote
// (emphasis, a line break); arguments are escaped.
func (l Localizer) HTML(key string, args ...any) template.HTML {
	esc := make([]any, len(args))
	for i, a := range args {
		esc[i] = template.HTMLEscapeString(fmt.Sprint(a))
	}
	return template.HTML(l.T(key, esc...)) //nolint:gosec // catalog text is ours; arguments are escaped
}

// Dir is the writing direction of the language.
func (l Localizer) Dir() string {
	if l.T("meta.dir") == "rtl" {
		return "rtl"
	}
	return "ltr"
}

// Date writes t's calendar date in the hospital's time zone, e.g.
// "9 December 2026" / "9 de diciembre de 2026".
func (l Localizer) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(l.TZ)
	return fmt.Sprintf(l.T("date.format"), t.Day(), l.T(fmt.Sprintf("month.%d", int(t.Month()))), t.Year())
}

// DateTime is Date with the time of day (24-hour clock).
func (l Localizer) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	lt := t.In(l.TZ)
	return fmt.Sprintf(l.T("datetime.format"), l.Date(t), lt.Format("15:04"))
}

// ISO is the machine-readable form for <time datetime>.
func (l Localizer) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Number writes n with the language's digit grouping.
func (l Localizer) Number(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := l.T("number.group")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
