package events

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Files of a documentation directory, relative to it.
const (
	AsyncAPIFile = "asyncapi.json"
	MarkdownFile = "events.md"
	SchemaDir    = "schemas"
)

// conventions explains the contract once, for both the AsyncAPI
// description and the Markdown catalog.
func conventions(includeInternal bool) string {
	p := []string{
		"deiops publishes domain events on NATS for hospital systems (HRIS, LMS, data warehouses) to consume.",

		"**Envelope.** Every message is a CloudEvents 1.0 event in binary content mode: the context attributes " +
			"travel as NATS headers (`ce-id`, `ce-source`, `ce-type`, `ce-specversion`, `ce-time`, `ce-subject`, " +
			"`ce-dataschema`, `ce-dataclassification`) and the message body is the event data as JSON " +
			"(`content-type: application/json`). `ce-source` is `/<installation>/<service>` (`/<installation>/" + PlatformSource + "` " +
			"for the platform's own events), with the installation the operator names: it depends on who owns the " +
			"event, never on which process or deployment mode published it. " +
			"`ce-subject` is the id of the entity the event is about; " +
			"`ce-dataschema` is the `$id` of the JSON Schema of the data; `traceparent` carries the W3C trace " +
			"context when the change was traced.",

		"**Subjects.** `" + PublicPrefix + ".<service>.<entity>.<action>`, lowercase dotted tokens, for example " +
			"`" + PublicPrefix + ".resolution.case.escalated`. Subscribe to `" + PublicPrefix + ".<service>.>` " +
			"to receive everything one service publishes, every version included.",

		"**Versions.** The CloudEvents type ends in the version, for example " +
			"`" + TypePrefix + ".resolution.case.escalated.v1`. Adding an optional field is not a breaking change " +
			"and may happen within a version: ignore fields you do not know (the schemas allow them). Any other " +
			"change is a new version, published on the subject with a `.v2` (`.v3`, ...) suffix, such as " +
			"`" + PublicPrefix + ".resolution.case.escalated.v2`, beside the old one until the old one is retired.",

		"**Access.** Only `" + PublicPrefix + ".>` is for integrators. Traffic between deiops services travels " +
			"under `" + InternalPrefix + ".>`, which integrator credentials cannot read and which is not part of " +
			"this contract.",

		"**Delivery.** deiops stores its events in JetStream streams named `DEI_<SERVICE>` (for example " +
			"`DEI_RESOLUTION` holds `" + PublicPrefix + ".resolution.>`) in its own account. An integrator's account " +
			"sees the subjects, not those streams: create a stream on `" + PublicPrefix + ".>` in your account and " +
			"read it with a durable pull consumer and explicit acks (docs/integrator.md). Delivery is at least " +
			"once: deduplicate on `ce-id`, which is also the `Nats-Msg-Id`.",

		"**Data.** Events carry ids, states and dates, never narratives or the identities of people involved in " +
			"a report. `ce-dataclassification` tells public events from internal ones.",
	}
	if includeInternal {
		p = append(p, "**Internal events.** This edition also lists internal events (`x-internal: true`, "+
			"streams `DEI_<SERVICE>_INTERNAL`) for deiops developers; they are not part of the integrators' contract.")
	}
	return strings.Join(p, "\n\n")
}

func description(info Info) string {
	d := conventions(info.IncludeInternal)
	if extra := strings.TrimSpace(info.Description); extra != "" {
		d += "\n\n" + extra
	}
	return d
}

// docFiles renders every file of the documentation directory, keyed by
// slash-separated path relative to it.
func docFiles(c *Catalog, info Info) (map[string][]byte, error) {
	api, err := AsyncAPI(c, info)
	if err != nil {
		return nil, err
	}
	documented := info.documented(c)
	schemas, err := Schemas(documented)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		AsyncAPIFile: api,
		MarkdownFile: Markdown(documented),
	}
	for name, b := range schemas {
		files[path.Join(SchemaDir, name)] = b
	}
	return files, nil
}

// WriteDocs writes the documentation of c into dir: asyncapi.json,
// events.md and schemas/<type>.json. Schema files of event types that no
// longer exist are removed; other files in dir are left alone. Unchanged
// files are not rewritten.
func WriteDocs(dir string, c *Catalog, info Info) error {
	files, err := docFiles(c, info)
	if err != nil {
		return fmt.Errorf("write docs: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, SchemaDir), 0o755); err != nil {
		return fmt.Errorf("write docs: %w", err)
	}
	for _, name := range sortedKeys(files) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, files[name]) {
			continue
		}
		if err := writeFile(p, files[name]); err != nil {
			return fmt.Errorf("write docs: %w", err)
		}
	}
	stale, err := staleSchemas(dir, files)
	if err != nil {
		return fmt.Errorf("write docs: %w", err)
	}
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return fmt.Errorf("write docs: remove stale schema: %w", err)
		}
	}
	return nil
}

// writeFile replaces p through a rename, so that an interrupted run leaves
// the old file rather than half of a new one.
func writeFile(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, p)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, werr)
	}
	return nil
}

// staleSchemas lists schema files in dir that files does not contain.
func staleSchemas(dir string, files map[string][]byte) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, SchemaDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, de := range entries {
		name := path.Join(SchemaDir, de.Name())
		if de.Type().IsRegular() && strings.HasSuffix(de.Name(), ".json") && files[name] == nil {
			stale = append(stale, name)
		}
	}
	return stale, nil // ReadDir sorts by name
}

// DriftError reports documentation that no longer matches the catalog.
// Paths are slash-separated and relative to Dir.
type DriftError struct {
	Dir     string
	Changed []string // differ from the generated content
	Missing []string // generated but absent
	Stale   []string // schema files of event types that no longer exist
	line    map[string]int
}

func (e *DriftError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "event docs in %s do not match the event catalog (regenerate them with `deiops asyncapi`):", e.Dir)
	for _, name := range e.Changed {
		fmt.Fprintf(&b, "\n  changed: %s (first difference on line %d)", name, e.line[name])
	}
	for _, name := range e.Missing {
		fmt.Fprintf(&b, "\n  missing: %s", name)
	}
	for _, name := range e.Stale {
		fmt.Fprintf(&b, "\n  stale:   %s", name)
	}
	return b.String()
}

// CheckDocs compares dir with what WriteDocs would write and returns a
// *DriftError naming every changed, missing and stale file. Line endings
// are compared loosely, so a checkout with CRLF conversion is not drift.
func CheckDocs(dir string, c *Catalog, info Info) error {
	files, err := docFiles(c, info)
	if err != nil {
		return fmt.Errorf("check docs: %w", err)
	}
	drift := &DriftError{Dir: dir, line: map[string]int{}}
	for _, name := range sortedKeys(files) {
		cur, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			drift.Missing = append(drift.Missing, name)
		case err != nil:
			return fmt.Errorf("check docs: %w", err)
		default:
			cur = bytes.ReplaceAll(cur, []byte("\r\n"), []byte("\n"))
			if !bytes.Equal(cur, files[name]) {
				drift.Changed = append(drift.Changed, name)
				drift.line[name] = firstDiffLine(cur, files[name])
			}
		}
	}
	if drift.Stale, err = staleSchemas(dir, files); err != nil {
		return fmt.Errorf("check docs: %w", err)
	}
	if len(drift.Changed)+len(drift.Missing)+len(drift.Stale) > 0 {
		return drift
	}
	return nil
}

func firstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return line
		}
		if a[i] == '\n' {
			line++
		}
	}
	return line
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
