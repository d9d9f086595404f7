package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

func repoRoot() string { return filepath.Join("..", "..") }

func TestREADMECarriesTheConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := config.WriteMarkdown(&want); err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- config-table:begin", "<!-- config-table:end -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README lacks the config-table markers")
	}
	got := s[strings.Index(s[i:], "\n")+i+1 : j]
	if got != want.String() {
		t.Fatalf("README configuration table is stale; replace it with `deiops config --markdown`:\n%s", want.String())
	}
}

func TestCommittedEventCatalogMatchesDeclarations(t *testing.T) {
	cat, err := app.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.CheckDocs(filepath.Join(repoRoot(), "docs", "events"), cat, docsInfo()); err != nil {
		t.Fatal(err)
	}
}

func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "deiops ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"config"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "DEIOPS_NATS_URL") {
		t.Fatalf("config: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil {
		t.Fatal("unknown command accepted")
	}
	dir := t.TempDir()
	out.Reset()
	if err := run(context.Background(), []string{"token", "--sub", "alice", "--role", "resolver", "--data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(strings.TrimSpace(out.String()), "."); len(parts) != 3 {
		t.Fatalf("token is not a JWS: %q", out.String())
	}
	if err := run(context.Background(), []string{"token", "--sub", "alice", "--role", "wizard", "--data", dir}, &out, &errOut); err == nil {
		t.Fatal("unknown role accepted")
	}
}

func TestServeReportsEveryConfigurationProblem(t *testing.T) {
	t.Setenv("DEIOPS_NATS_REPLICAS", "9")
	t.Setenv("DEIOPS_LOG_LEVEL", "loud")
	t.Setenv("DEIOPS_CRYPTO_KEYRING", "")
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve"}, &out, &out)
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	for _, want := range []string{"DEIOPS_NATS_REPLICAS", "DEIOPS_LOG_LEVEL", "DEIOPS_CRYPTO_KEYRING", "DEIOPS_AUTH_ISSUER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestCommittedOpenAPIDocumentsMatchRoutes(t *testing.T) {
	var out bytes.Buffer
	if err := cmdOpenAPI([]string{"--check", "--out", filepath.Join(repoRoot(), "docs", "openapi")}, &out); err != nil {
		t.Fatal(err)
	}
}

func TestProvisionNeedsOnlyNATS(t *testing.T) {
	srv := testkit.NATS(t)
	for _, k := range []string{"DEIOPS_CRYPTO_KEYRING", "DEIOPS_PRIVACY_HMAC_SECRET", "DEIOPS_AUTH_ISSUER"} {
		t.Setenv(k, "")
	}
	t.Setenv("DEIOPS_NATS_URL", srv.URL())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"provision"}, &out, &out); err != nil {
		t.Fatalf("provision: %v\n%s", err, out.String())
	}
	for _, want := range []string{"DEI_DIRECTORY", "DEI_PLATFORM_INTERNAL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("provision output lacks %s:\n%s", want, out.String())
		}
	}
	// Running it again converges without error.
	if err := run(context.Background(), []string{"provision"}, &out, &out); err != nil {
		t.Fatalf("second provision: %v", err)
	}
}
