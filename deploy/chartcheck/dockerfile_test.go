package chartcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	op, args string
	stage    string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	stage := ""
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		op, args, _ := strings.Cut(line, " ")
		op = strings.ToUpper(op)
		if op == "FROM" {
			if f := strings.Fields(args); len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				stage = f[len(f)-1]
			} else {
				stage = ""
			}
		}
		out = append(out, instruction{op: op, args: strings.TrimSpace(args), stage: stage})
	}
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return out
}

// workModules are the directories go.work uses.
func workModules(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	block := regexp.MustCompile(`(?s)use\s*\((.*?)\)`).FindStringSubmatch(string(raw))
	lines := regexp.MustCompile(`(?m)^use\s+([^\s(]\S*)`).FindAllStringSubmatch(string(raw), -1)
	if block != nil {
		for _, f := range strings.Fields(block[1]) {
			out = append(out, strings.TrimPrefix(f, "./"))
		}
	}
	for _, l := range lines {
		out = append(out, strings.TrimPrefix(l[1], "./"))
	}
	if len(out) == 0 {
		t.Fatal("go.work uses no module")
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join(repoRoot, "deploy", "Dockerfile"))
	find := func(stage, op string) []instruction {
		var out []instruction
		for _, i := range ins {
			if i.stage == stage && i.op == op {
				out = append(out, i)
			}
		}
		return out
	}
	index := func(pred func(instruction) bool) int { return slices.IndexFunc(ins, pred) }

	// Module files of every workspace module are copied before the download, sources after.
	download := index(func(i instruction) bool {
		return i.stage == "build" && i.op == "RUN" && strings.Contains(i.args, "go mod download")
	})
	copyAll := index(func(i instruction) bool { return i.stage == "build" && i.op == "COPY" && i.args == ". ." })
	if download < 0 || copyAll < download {
		t.Fatalf("want `RUN go mod download` before `COPY . .` in the build stage (download %d, copy %d)", download, copyAll)
	}
	copied := map[string]bool{}
	for _, i := range ins[:download] {
		if i.op == "COPY" && i.stage == "build" {
			f := strings.Fields(i.args)
			for _, src := range f[:len(f)-1] {
				copied[src] = true
			}
		}
	}
	for _, f := range []string{"go.work", "go.work.sum"} {
		if !copied[f] {
			t.Errorf("%s is not copied before go mod download", f)
		}
	}
	for _, m := range workModules(t) {
		for _, f := range []string{"go.mod", "go.sum"} {
			if !copied[m+"/"+f] {
				t.Errorf("%s/%s (a go.work module) is not copied before go mod download", m, f)
			}
		}
	}

	// The binary: static, no development servers, reproducible paths, stamped version.
	var build string
	for _, i := range find("build", "RUN") {
		if strings.Contains(i.args, "go build") {
			build = i.args
		}
	}
	env := ""
	for _, i := range find("build", "ENV") {
		env += " " + i.args
	}
	for _, want := range []string{"-tags nodev", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-o /out/deiops"} {
		if !strings.Contains(build, want) {
			t.Errorf("the deiops build does not use %q: %s", want, build)
		}
	}
	if !strings.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("the build stage does not set CGO_ENABLED=0")
	}
	args := map[string]bool{}
	for _, i := range find("build", "ARG") {
		args[strings.SplitN(i.args, "=", 2)[0]] = true
	}
	if !args["VERSION"] || !args["COMMIT"] {
		t.Errorf("VERSION and COMMIT must be build arguments of the build stage: %v", args)
	}

	// The final image.
	var final []instruction
	for i := len(ins) - 1; i >= 0; i-- {
		if ins[i].op == "FROM" {
			final = ins[i:]
			break
		}
	}
	if len(final) == 0 || final[0].args != "gcr.io/distroless/static-debian12:nonroot" {
		t.Fatalf("the final stage is not gcr.io/distroless/static-debian12:nonroot: %v", final)
	}
	last := map[string]string{}
	for _, i := range final {
		last[i.op] = i.args
	}
	want := map[string]string{"USER": "65532:65532", "ENTRYPOINT": `["/deiops"]`, "CMD": `["serve"]`}
	for op, w := range want {
		if last[op] != w {
			t.Errorf("final %s is %q, want %q", op, last[op], w)
		}
	}
	if !strings.Contains(last["HEALTHCHECK"], `["/httpcheck"]`) {
		t.Errorf("final HEALTHCHECK is %q, want the httpcheck binary", last["HEALTHCHECK"])
	}
}

// The build context keeps what the Dockerfile copies.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			rules = append(rules, l)
		}
	}
	// Later rules win; "!dir/" keeps everything under dir.
	kept := func(path string) bool {
		keep := true
		for _, r := range rules {
			neg := strings.HasPrefix(r, "!")
			p := strings.TrimSuffix(strings.TrimPrefix(r, "!"), "/")
			match := p == "**" || p == path || strings.HasPrefix(path, p+"/")
			if ok, _ := filepath.Match(p, path); ok {
				match = true
			}
			if strings.HasPrefix(p, "**/") {
				suffix := strings.TrimPrefix(p, "**/")
				for _, part := range strings.Split(path, "/") {
					if ok, _ := filepath.Match(suffix, part); ok {
						match = true
					}
				}
			}
			if match {
				keep = neg
			}
		}
		return keep
	}
	need := []string{"go.work", "go.work.sum", "deploy/chartcheck/cmd/httpcheck/main.go", "cmd/deiops/main.go"}
	for _, m := range workModules(t) {
		need = append(need, m+"/go.mod", m+"/go.sum")
	}
	for _, p := range need {
		if !kept(p) {
			t.Errorf(".dockerignore drops %s, which the image build needs", p)
		}
	}
	for _, p := range []string{".git/config", "cmd/deiops/deiops", ".deiops/dev-issuer.pem", "pkg/bus/bus_test.go", "helm/deiops/values.yaml", ".env"} {
		if kept(p) {
			t.Errorf(".dockerignore keeps %s in the build context", p)
		}
	}
}
