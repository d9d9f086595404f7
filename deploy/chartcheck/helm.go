package chartcheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// HelmVersion is the Helm release the checks run. It is built from the Go
// module proxy (no download site needed) and cached.
const HelmVersion = "v3.21.4"

// helmKubeMinor is the Kubernetes minor version of the client libraries
// HelmVersion is built on; it becomes Helm's default capabilities (what
// `helm template` and `helm lint` assume without a cluster).
const helmKubeMinor = "36"

// EnsureHelm returns the path of a Helm HelmVersion binary in cacheDir,
// building it with `go install` when it is missing or reports another
// version. The build takes minutes on a small machine; later calls reuse it.
// Concurrent callers may both build; the rename makes the last one win with an
// identical binary.
func EnsureHelm(ctx context.Context, cacheDir string) (string, error) {
	dir, err := filepath.Abs(cacheDir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "helm-"+HelmVersion)
	if helmReports(ctx, bin) == HelmVersion {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)

	ldflags := strings.Join([]string{
		"-s", "-w",
		"-X", "helm.sh/helm/v3/internal/version.version=" + HelmVersion,
		"-X", "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1",
		"-X", "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=" + helmKubeMinor,
		"-X", "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1",
		"-X", "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=" + helmKubeMinor,
	}, " ")
	cmd := exec.CommandContext(ctx, goTool(), "install", "-trimpath", "-ldflags="+ldflags,
		"helm.sh/helm/v3/cmd/helm@"+HelmVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build helm %s: %v\n%s", HelmVersion, err, out.String())
	}
	name := "helm"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if err := os.Rename(filepath.Join(tmp, name), bin); err != nil {
		return "", err
	}
	if got := helmReports(ctx, bin); got != HelmVersion {
		return "", fmt.Errorf("built helm reports version %q, want %s", got, HelmVersion)
	}
	return bin, nil
}

// helmReports is the version bin prints, or "" when it cannot run.
func helmReports(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version", "--template", "{{.Version}}").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// goTool is the go command of the toolchain running this code, else the one on PATH.
func goTool() string {
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// Helm runs one Helm binary.
type Helm struct {
	Bin string
}

// Run runs helm with args and returns stdout, and an error carrying stderr
// when helm fails.
func (h Helm) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	// No repositories, plugins or registry logins from the machine's Helm setup.
	home, err := os.MkdirTemp("", "chartcheck-helm-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(home)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Template renders chartDir as release in namespace with the values files
// and --set style overrides (each "key=value").
func (h Helm) Template(ctx context.Context, chartDir, release, namespace string, valuesFiles []string, set ...string) (string, error) {
	args := []string{"template", release, chartDir, "--namespace", namespace}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return h.Run(ctx, args...)
}
