package events_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/events"
)

func writeDocs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "events")
	if err := events.WriteDocs(dir, testCatalog(t), testInfo()); err != nil {
		t.Fatalf("WriteDocs: %v", err)
	}
	return dir
}

func driftOf(t *testing.T, dir string) *events.DriftError {
	t.Helper()
	err := events.CheckDocs(dir, testCatalog(t), testInfo())
	var drift *events.DriftError
	if !errors.As(err, &drift) {
		t.Fatalf("CheckDocs = %v, want a *DriftError", err)
	}
	return drift
}

func TestWriteDocsLayout(t *testing.T) {
	dir := writeDocs(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"asyncapi.json",
		"events.md",
		"schemas/org.deiops.awareness.training.completed.v1.json",
		"schemas/org.deiops.resolution.case.escalated.v1.json",
		"schemas/org.deiops.resolution.case.escalated.v2.json",
	}
	if !slices.Equal(files, want) {
		t.Fatalf("files = %v, want %v (internal events stay out of the integrators' docs)", files, want)
	}
	if err := events.CheckDocs(dir, testCatalog(t), testInfo()); err != nil {
		t.Fatalf("CheckDocs right after WriteDocs: %v", err)
	}
}

func TestCheckDocsModifiedFile(t *testing.T) {
	dir := writeDocs(t)
	p := filepath.Join(dir, "asyncapi.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"version": "1.0.0"`), []byte(`"version": "0.9.0"`), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	drift := driftOf(t, dir)
	if !slices.Equal(drift.Changed, []string{"asyncapi.json"}) || len(drift.Missing)+len(drift.Stale) != 0 {
		t.Fatalf("drift = %+v, want only asyncapi.json changed", drift)
	}
	if !strings.Contains(drift.Error(), "changed: asyncapi.json (first difference on line 5)") {
		t.Errorf("error does not locate the change:\n%v", drift)
	}
}

func TestCheckDocsMissingFile(t *testing.T) {
	dir := writeDocs(t)
	if err := os.Remove(filepath.Join(dir, "schemas", "org.deiops.resolution.case.escalated.v2.json")); err != nil {
		t.Fatal(err)
	}
	drift := driftOf(t, dir)
	if !slices.Equal(drift.Missing, []string{"schemas/org.deiops.resolution.case.escalated.v2.json"}) ||
		len(drift.Changed)+len(drift.Stale) != 0 {
		t.Fatalf("drift = %+v, want one missing schema", drift)
	}
}

func TestCheckDocsStaleFile(t *testing.T) {
	dir := writeDocs(t)
	stale := filepath.Join(dir, "schemas", "org.deiops.resolution.case.reopened.v1.json")
	if err := os.WriteFile(stale, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	drift := driftOf(t, dir)
	if !slices.Equal(drift.Stale, []string{"schemas/org.deiops.resolution.case.reopened.v1.json"}) ||
		len(drift.Changed)+len(drift.Missing) != 0 {
		t.Fatalf("drift = %+v, want one stale schema", drift)
	}

	// WriteDocs removes it and leaves files it does not own alone.
	notes := filepath.Join(dir, "schemas", "README.md")
	if err := os.WriteFile(notes, []byte("hand-written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := events.WriteDocs(dir, testCatalog(t), testInfo()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale schema still there: %v", err)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("WriteDocs removed a file it does not generate: %v", err)
	}
	if err := events.CheckDocs(dir, testCatalog(t), testInfo()); err != nil {
		t.Errorf("CheckDocs after regenerating: %v", err)
	}
}

func TestCheckDocsListsEveryProblem(t *testing.T) {
	dir := writeDocs(t)
	if err := os.WriteFile(filepath.Join(dir, "events.md"), []byte("# edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "asyncapi.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schemas", "old.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	msg := driftOf(t, dir).Error()
	for _, want := range []string{"changed: events.md", "missing: asyncapi.json", "stale:   schemas/old.json", "deiops asyncapi"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestCheckDocsEmptyDir(t *testing.T) {
	drift := driftOf(t, t.TempDir())
	if len(drift.Missing) != 5 {
		t.Fatalf("missing = %v, want all 5 files", drift.Missing)
	}
}

func TestCheckDocsIgnoresCRLF(t *testing.T) {
	dir := writeDocs(t)
	p := filepath.Join(dir, "events.md")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := events.CheckDocs(dir, testCatalog(t), testInfo()); err != nil {
		t.Fatalf("CRLF checkout counted as drift: %v", err)
	}
}

func TestCheckDocsCatalogChange(t *testing.T) {
	dir := writeDocs(t)
	// A service drops the v1 of an event: its schema is stale and the
	// generated documents change.
	c, err := events.NewCatalog(caseEscalatedV2{}, trainingCompleted{})
	if err != nil {
		t.Fatal(err)
	}
	err = events.CheckDocs(dir, c, testInfo())
	var drift *events.DriftError
	if !errors.As(err, &drift) {
		t.Fatalf("CheckDocs = %v", err)
	}
	if !slices.Equal(drift.Changed, []string{"asyncapi.json", "events.md"}) ||
		!slices.Equal(drift.Stale, []string{"schemas/org.deiops.resolution.case.escalated.v1.json"}) {
		t.Fatalf("drift = %+v", drift)
	}
}

func TestWriteDocsIncludeInternal(t *testing.T) {
	dir := t.TempDir()
	info := testInfo()
	info.IncludeInternal = true
	if err := events.WriteDocs(dir, testCatalog(t), info); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas", "org.deiops.resolution.case.routed.v1.json")); err != nil {
		t.Fatalf("internal schema not written: %v", err)
	}
	if err := events.CheckDocs(dir, testCatalog(t), info); err != nil {
		t.Fatal(err)
	}
	// The integrators' edition of the same directory drifts: it has an
	// extra schema and other documents.
	if err := events.CheckDocs(dir, testCatalog(t), testInfo()); err == nil {
		t.Fatal("CheckDocs without internal events accepted the internal edition")
	}
}
