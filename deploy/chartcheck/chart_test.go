package chartcheck

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/deiops/deiops/pkg/config"
)

var update = flag.Bool("update", false, "rewrite the golden manifests in helm/deiops/testdata/golden")

const (
	repoRoot  = "../.."
	chartDir  = repoRoot + "/helm/deiops"
	goldenDir = chartDir + "/testdata/golden"
	release   = "deiops"
	namespace = "hospital-a"
)

// helm is the pinned Helm, built once per cache (see EnsureHelm).
var helm Helm

func TestMain(m *testing.M) {
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	start := time.Now()
	bin, err := EnsureHelm(ctx, ".bin")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(1)
	}
	if d := time.Since(start); d > 5*time.Second {
		fmt.Fprintf(os.Stderr, "chartcheck: built helm %s in %s (cached in .bin for later runs)\n", HelmVersion, d.Round(time.Second))
	}
	helm = Helm{Bin: bin}
	os.Exit(m.Run())
}

// ciValues are the CI values files; each is linted, rendered, checked and
// compared with its golden manifest.
func ciValues(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want at least 3 CI values files in %s/ci, found %d", chartDir, len(files))
	}
	return files
}

func documented(t *testing.T) map[string]bool {
	t.Helper()
	vars, err := config.Variables()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, v := range vars {
		out[v.Name] = true
	}
	return out
}

// existingSecrets collects every non-empty existingSecret and every
// imagePullSecrets name in a values file.
func existingSecrets(t *testing.T, valuesFile string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				if m, ok := c.(map[string]any); ok && key == "imagePullSecrets" {
					if n, _ := m["name"].(string); n != "" {
						out[n] = true
					}
				}
				walk(key, c)
			}
		case string:
			if key == "existingSecret" && x != "" {
				out[x] = true
			}
		}
	}
	walk("", v)
	return out
}

func render(t *testing.T, valuesFile string, set ...string) (string, []Object) {
	t.Helper()
	out, err := helm.Template(t.Context(), chartDir, release, namespace, []string{valuesFile}, set...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatalf("strict decoding of %s:\n%v", filepath.Base(valuesFile), err)
	}
	return out, objs
}

// helm lint --strict passes for the defaults (Helm's lint mode skips `fail`,
// so the required values are checked by rendering, below) and every CI file.
func TestLintStrict(t *testing.T) {
	for _, f := range append([]string{""}, ciValues(t)...) {
		name := filepath.Base(f)
		args := []string{"lint", "--strict", chartDir}
		if f == "" {
			name = "defaults"
		} else {
			args = append(args, "--values", f)
		}
		t.Run(name, func(t *testing.T) {
			out, err := helm.Run(t.Context(), args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Fatalf("unexpected lint output:\n%s", out)
			}
		})
	}
}

// The defaults alone name every required value (lint and template both fail).
func TestDefaultValuesNameEveryRequiredValue(t *testing.T) {
	want := []string{
		"secrets.cryptoKeyring is required",
		"secrets.privacyHmacSecret is required",
		"auth.issuer is required",
		"auth.jwksUrl is required",
		"secrets.existingSecret",
		"auth.existingSecret",
	}
	_, err := helm.Template(t.Context(), chartDir, release, namespace, nil)
	if err == nil {
		t.Fatal("rendering the defaults succeeded without a keyring, an HMAC secret or an OIDC issuer")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
}

// Each missing or contradictory value fails rendering with a message that
// names the value to set.
func TestInvalidValuesFailWithTheValueToSet(t *testing.T) {
	mono := filepath.Join(chartDir, "ci", "monolithic-values.yaml")
	micro := filepath.Join(chartDir, "ci", "microservices-values.yaml")
	cases := []struct {
		name   string
		values string
		set    []string
		want   string
	}{
		{"nats creds missing", mono, []string{"nats.auth.method=creds"}, "nats.auth.method=creds needs nats.auth.creds (the .creds file content) or nats.auth.existingSecret"},
		{"nats user missing", mono, []string{"nats.auth.method=password", "nats.auth.password=x"}, "nats.auth.method=password needs nats.auth.user"},
		{"nats password missing", mono, []string{"nats.auth.method=password", "nats.auth.user=deiops"}, "nats.auth.method=password needs nats.auth.password or nats.auth.existingSecret"},
		{"nats client cert without key", mono, []string{"nats.tls.existingSecret=nats-tls", "nats.tls.certKey=tls.crt"}, "nats.tls.certKey and nats.tls.keyKey go together"},
		{"temporal client cert without secret", mono, []string{"temporal.tls.enabled=true", "temporal.tls.certKey=tls.crt", "temporal.tls.keyKey=tls.key"}, "temporal.tls.certKey needs temporal.tls.existingSecret"},
		{"temporal tls secret while tls off", mono, []string{"temporal.tls.existingSecret=t"}, "temporal.tls.existingSecret is set but temporal.tls.enabled is false"},
		{"keyring without id", mono, []string{"secrets.cryptoKeyring=AAAA"}, "secrets.cryptoKeyring must look like id:base64(32 bytes)"},
		{"no component enabled", micro, []string{"components.awareness.enabled=false", "components.connection.enabled=false", "components.resolution.enabled=false", "components.portal.enabled=false"}, "mode=microservices needs at least one of components.awareness"},
		{"ingress path to a disabled component", micro, []string{"components.connection.enabled=false"}, "ingress.hosts[0].paths[2].component must name an enabled component (awareness, resolution, portal) that serves /v1/connection"},
		{"HPA without cpu request", mono, []string{"monolithic.autoscaling.enabled=true", "monolithic.resources.requests.cpu=null"}, "monolithic.autoscaling.enabled needs monolithic.resources.requests.cpu"},
		{"custom metric without name", micro, []string{"components.resolution.autoscaling.customMetric.name="}, "components.resolution.autoscaling.customMetric.enabled needs customMetric.name"},
		{"PDB that blocks drains", micro, []string{"components.connection.podDisruptionBudget.minAvailable=2"}, "components.connection.podDisruptionBudget.minAvailable (2) must be below the replica count (2)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := helm.Template(t.Context(), chartDir, release, namespace, []string{c.values}, c.set...)
			if err == nil {
				t.Fatalf("rendering with %v succeeded", c.set)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not say %q:\n%v", c.want, err)
			}
		})
	}
}

// values.schema.json catches typos and wrong types before any template runs.
func TestSchemaRejects(t *testing.T) {
	mono := filepath.Join(chartDir, "ci", "monolithic-values.yaml")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"misspelled key", []string{"--set", "monolithic.replicaCout=3"}, []string{"/monolithic", "replicaCout"}},
		{"misspelled top-level key", []string{"--set", "netwrokPolicy.enabled=true"}, []string{"netwrokPolicy"}},
		{"string replica count", []string{"--set-string", "monolithic.replicaCount=three"}, []string{"/monolithic/replicaCount", "integer"}},
		{"unknown mode", []string{"--set", "mode=hybrid"}, []string{"/mode", "monolithic", "microservices"}},
		{"unknown component", []string{"--set", "components.billing.enabled=true"}, []string{"/components", "billing"}},
		{"undocumented extra setting", []string{"--set", "extraConfig.NATS_URL=x"}, []string{"invalid propertyName 'NATS_URL'", "(DEIOPS|OTEL)_"}},
		{"credentials in the redis url", []string{"--set", "redis.url=redis://:pw@redis:6379/0"}, []string{"/redis/url"}},
		{"replicas outside 1..5", []string{"--set", "nats.replicas=7"}, []string{"/nats/replicas"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"template", release, chartDir, "--namespace", namespace, "--values", mono}, c.args...)
			_, err := helm.Run(t.Context(), args...)
			if err == nil {
				t.Fatalf("helm %v succeeded", c.args)
			}
			msg := err.Error()
			if !strings.Contains(msg, "values don't meet the specifications of the schema") {
				t.Fatalf("not a schema error:\n%s", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("schema error does not mention %q:\n%s", w, msg)
				}
			}
		})
	}
}

// Every CI rendering decodes strictly and passes every check.
func TestRenderedManifests(t *testing.T) {
	docs := documented(t)
	for _, f := range ciValues(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, objs := render(t, f)
			r := Release{Namespace: namespace, Objects: objs, ExistingSecrets: existingSecrets(t, f), Documented: docs}
			if err := r.Check(); err != nil {
				t.Fatal(err)
			}
			var values struct {
				NetworkPolicy struct{ Enabled bool } `json:"networkPolicy"`
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(raw, &values); err != nil {
				t.Fatal(err)
			}
			if n := len(byKind[*networkingv1.NetworkPolicy](objs)); values.NetworkPolicy.Enabled != (n > 0) {
				t.Fatalf("networkPolicy.enabled=%v but %d NetworkPolicies rendered", values.NetworkPolicy.Enabled, n)
			}
		})
	}
}

func byKind[T any](objs []Object) []T {
	return objectsOf[T](Release{Objects: objs})
}

func targets(deps []*appsv1.Deployment) []string {
	var out []string
	for _, d := range deps {
		out = append(out, strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "))
	}
	slices.Sort(out)
	return out
}

func TestModes(t *testing.T) {
	_, mono := render(t, filepath.Join(chartDir, "ci", "monolithic-values.yaml"))
	if got := targets(byKind[*appsv1.Deployment](mono)); !slices.Equal(got, []string{"serve --target=all"}) {
		t.Fatalf("monolithic mode runs %v, want one Deployment with --target=all", got)
	}
	_, micro := render(t, filepath.Join(chartDir, "ci", "microservices-values.yaml"))
	want := []string{"serve --target=awareness", "serve --target=connection", "serve --target=portal", "serve --target=resolution"}
	if got := targets(byKind[*appsv1.Deployment](micro)); !slices.Equal(got, want) {
		t.Fatalf("microservices mode runs %v, want %v", got, want)
	}
	if n := len(byKind[*corev1.Service](micro)); n != 4 {
		t.Fatalf("microservices mode renders %d Services, want 4", n)
	}
	// Autoscaling on awareness and resolution; resolution also on a Pods metric.
	hpas := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
	for _, h := range byKind[*autoscalingv2.HorizontalPodAutoscaler](micro) {
		hpas[h.Spec.ScaleTargetRef.Name] = h
	}
	if len(hpas) != 2 || hpas[release+"-awareness"] == nil || hpas[release+"-resolution"] == nil {
		t.Fatalf("HPAs target %v, want deiops-awareness and deiops-resolution", sortedKeys(hpas))
	}
	res := hpas[release+"-resolution"].Spec.Metrics
	if len(res) != 2 || res[1].Type != autoscalingv2.PodsMetricSourceType || res[1].Pods.Metric.Name != "deiops_bus_handled_per_second" {
		t.Fatalf("resolution HPA metrics %+v, want CPU and the Pods metric", res)
	}
	// Only the Deployment without an HPA pins its replicas.
	for _, d := range byKind[*appsv1.Deployment](micro) {
		if _, scaled := hpas[d.Name]; scaled == (d.Spec.Replicas != nil) {
			t.Errorf("Deployment/%s: replicas set=%v while autoscaled=%v", d.Name, d.Spec.Replicas != nil, scaled)
		}
	}
	// The ingress sends each path to the component named in values.
	ing := byKind[*networkingv1.Ingress](micro)
	if len(ing) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(ing))
	}
	routes := map[string]string{}
	for _, p := range ing[0].Spec.Rules[0].HTTP.Paths {
		routes[p.Path] = p.Backend.Service.Name
	}
	if routes["/v1/connection"] != release+"-connection" || routes["/v1/probes"] != release+"-resolution" || routes["/"] != release+"-portal" {
		t.Fatalf("ingress routes %v", routes)
	}
}

// Settings reach the containers as the binary's variables.
func TestSettingsReachTheBinary(t *testing.T) {
	env := func(objs []Object, deployment string) map[string]string {
		t.Helper()
		cms := map[string]map[string]string{}
		for _, cm := range byKind[*corev1.ConfigMap](objs) {
			cms[cm.Name] = cm.Data
		}
		for _, d := range byKind[*appsv1.Deployment](objs) {
			if d.Name != deployment {
				continue
			}
			c := d.Spec.Template.Spec.Containers[0]
			out := map[string]string{}
			for _, ef := range c.EnvFrom {
				for k, v := range cms[ef.ConfigMapRef.Name] {
					out[k] = v
				}
			}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					out[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
				default:
					out[e.Name] = e.Value
				}
			}
			return out
		}
		t.Fatalf("no Deployment %s", deployment)
		return nil
	}
	_, micro := render(t, filepath.Join(chartDir, "ci", "microservices-values.yaml"))
	m := env(micro, release+"-resolution")
	want := map[string]string{
		"DEIOPS_NATS_REPLICAS":              "3",
		"DEIOPS_NATS_URL":                   "nats://nats-0.nats:4222,nats://nats-1.nats:4222,nats://nats-2.nats:4222",
		"DEIOPS_NATS_USER":                  "deiops",
		"DEIOPS_NATS_PASSWORD":              "secret:deiops/nats-password",
		"DEIOPS_CRYPTO_KEYRING":             "secret:deiops/crypto-keyring",
		"DEIOPS_PRIVACY_HMAC_SECRET":        "secret:deiops/privacy-hmac-secret",
		"DEIOPS_REDIS_URL":                  "redis://:$(REDIS_PASSWORD)@redis-master:6379/0",
		"REDIS_PASSWORD":                    "secret:deiops/redis-password",
		"DEIOPS_AUTH_ROLE_CLAIM":            "realm_access.roles",
		"DEIOPS_NATS_ACK_WAIT":              "45s",
		"OTEL_EXPORTER_OTLP_ENDPOINT":       "http://otel-collector.observability:4318",
		"OTEL_RESOURCE_ATTRIBUTES":          "deployment.environment.name=ci",
		"OTEL_SERVICE_NAME":                 "deiops-resolution",
		"DEIOPS_HTTP_PUBLIC_URL":            "https://deiops.example.org",
		"DEIOPS_TEMPORAL_TLS":               "false",
		"DEIOPS_TEMPORAL_ADDRESS":           "temporal-frontend:7233",
		"DEIOPS_HTTP_ADDR":                  ":8080",
		"DEIOPS_AUTH_ALGORITHMS":            "RS256,ES256",
		"DEIOPS_PRIVACY_MIN_CELL_SIZE":      "5",
		"DEIOPS_TEMPORAL_NAMESPACE":         "default",
		"DEIOPS_NATS_PROVISION":             "true",
		"DEIOPS_AUTH_ISSUER":                "https://login.example.org/realms/hospital",
		"DEIOPS_TEMPORAL_TASK_QUEUE_PREFIX": "deiops",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("microservices: %s = %q, want %q", k, m[k], v)
		}
	}
	// The portal calls the resolution component, signs in with its client
	// secret from the Secret, and the API believes the portal's pods about
	// reporters' addresses.
	pm := env(micro, release+"-portal")
	for k, v := range map[string]string{
		"DEIOPS_PORTAL_API_URL":       "http://" + release + "-resolution:80",
		"DEIOPS_PORTAL_ISSUER_URL":    "https://login.example.org/realms/hospital",
		"DEIOPS_PORTAL_CLIENT_SECRET": "secret:deiops/portal-client-secret",
		"DEIOPS_PORTAL_TIME_ZONE":     "America/Chicago",
		"DEIOPS_HTTP_TRUSTED_PROXIES": "10.244.0.0/16",
		"OTEL_SERVICE_NAME":           "deiops-portal",
	} {
		if pm[k] != v {
			t.Errorf("microservices portal: %s = %q, want %q", k, pm[k], v)
		}
	}
	// Kubernetes expands $(REDIS_PASSWORD) only from a variable defined earlier.
	for _, d := range byKind[*appsv1.Deployment](micro) {
		names := []string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			names = append(names, e.Name)
		}
		if i, j := slices.Index(names, "REDIS_PASSWORD"), slices.Index(names, "DEIOPS_REDIS_URL"); i < 0 || j < i {
			t.Errorf("Deployment/%s: REDIS_PASSWORD must come before DEIOPS_REDIS_URL (%v)", d.Name, names)
		}
	}

	_, ext := render(t, filepath.Join(chartDir, "ci", "external-tls-values.yaml"))
	e := env(ext, release+"-awareness")
	want = map[string]string{
		"DEIOPS_NATS_CREDS_FILE":          "/etc/deiops/nats-creds/deiops.creds",
		"DEIOPS_NATS_TLS_CA":              "/etc/deiops/nats-tls/ca.crt",
		"DEIOPS_NATS_TLS_CERT":            "/etc/deiops/nats-tls/tls.crt",
		"DEIOPS_NATS_TLS_KEY":             "/etc/deiops/nats-tls/tls.key",
		"DEIOPS_TEMPORAL_TLS":             "true",
		"DEIOPS_TEMPORAL_TLS_SERVER_NAME": "temporal-frontend.temporal.svc",
		"DEIOPS_TEMPORAL_TLS_CA":          "/etc/deiops/temporal-tls/ca.crt",
		"DEIOPS_TEMPORAL_TLS_CERT":        "/etc/deiops/temporal-tls/tls.crt",
		"DEIOPS_TEMPORAL_TLS_KEY":         "/etc/deiops/temporal-tls/tls.key",
		"DEIOPS_TEMPORAL_API_KEY":         "secret:deiops-temporal-api-key/api-key",
		"DEIOPS_TEMPORAL_NAMESPACE":       "hospital-prod",
		"DEIOPS_CRYPTO_KEYRING":           "secret:deiops-keys/crypto-keyring",
		"DEIOPS_AUTH_ISSUER":              "secret:deiops-oidc/issuer",
		"DEIOPS_AUTH_JWKS_URL":            "secret:deiops-oidc/jwks-url",
		"DEIOPS_AUTH_AUDIENCE":            "api://deiops",
		"DEIOPS_REDIS_URL":                "rediss://deiops:$(REDIS_PASSWORD)@master.hospital.example.cache.amazonaws.com:6379/0",
		"REDIS_PASSWORD":                  "secret:deiops-redis/password",
		"SSL_CERT_DIR":                    "/etc/deiops/trusted-ca:/etc/ssl/certs",
		"OTEL_EXPORTER_OTLP_PROTOCOL":     "grpc",
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("external TLS: %s = %q, want %q", k, e[k], v)
		}
	}
	// Everything secret comes from existing Secrets: the chart renders none.
	if s := byKind[*corev1.Secret](ext); len(s) != 0 {
		t.Errorf("external TLS values render %d Secrets, want 0", len(s))
	}
	// Mounted files are where the variables point.
	mounts := map[string]string{}
	d := byKind[*appsv1.Deployment](ext)[0]
	vols := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, vm := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if !vm.ReadOnly && vm.MountPath != "/tmp" {
			t.Errorf("volume %s is mounted writable", vm.Name)
		}
		if v := vols[vm.Name]; v.Secret != nil {
			mounts[vm.MountPath] = v.Secret.SecretName
		}
	}
	wantMounts := map[string]string{
		"/etc/deiops/nats-creds":   "deiops-nats-creds",
		"/etc/deiops/nats-tls":     "deiops-nats-tls",
		"/etc/deiops/temporal-tls": "deiops-temporal-tls",
		"/etc/deiops/trusted-ca":   "hospital-root-ca",
	}
	for p, s := range wantMounts {
		if mounts[p] != s {
			t.Errorf("%s mounts Secret %q, want %q", p, mounts[p], s)
		}
	}
}

// No object or URL is tied to one namespace: rendering into another
// namespace changes nothing but the namespace.
func TestNothingHardCodedToANamespace(t *testing.T) {
	for _, f := range ciValues(t) {
		a, err := helm.Template(t.Context(), chartDir, release, "ns-one", []string{f})
		if err != nil {
			t.Fatal(err)
		}
		b, err := helm.Template(t.Context(), chartDir, release, "ns-two", []string{f})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ReplaceAll(a, "ns-one", "ns-two") != b {
			t.Errorf("%s: the rendering differs beyond the namespace", filepath.Base(f))
		}
		if strings.Contains(a, "namespace: default") {
			t.Errorf("%s: renders into the default namespace explicitly", filepath.Base(f))
		}
	}
}

// The checks themselves catch what they claim to: a manifest broken in each
// way is reported.
func TestChecksCatchBrokenManifests(t *testing.T) {
	f := filepath.Join(chartDir, "ci", "microservices-values.yaml")
	base, _ := render(t, f)
	docs := documented(t)
	secrets := existingSecrets(t, f)
	cases := []struct {
		name, old, new, want string
	}{
		{"writable root filesystem", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"privilege escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation is not false"},
		{"capabilities kept", "- ALL", "- NET_RAW", "does not drop ALL capabilities"},
		{"root user", "runAsUser: 65532", "runAsUser: 0", "pod runs as uid 0"},
		{"missing readiness path", "path: /readyz", "path: /", "readinessProbe checks /, want /readyz"},
		{"secret key missing", "key: crypto-keyring", "key: crypto-keyring-typo", `has no key "crypto-keyring-typo"`},
		{"unknown secret", "name: deiops\n                  key: nats-password", "name: nats-password-secret\n                  key: nats-password", `Secret "nats-password-secret" is neither rendered nor named`},
		{"service selector drift", "    app.kubernetes.io/component: awareness\n  ports:", "    app.kubernetes.io/component: awarenes\n  ports:", "selector matches 0 Deployments"},
		{"undocumented setting", "DEIOPS_LOG_LEVEL:", "DEIOPS_LOGLEVEL:", "sets DEIOPS_LOGLEVEL, which deiops does not read"},
		{"network policy misses the hook", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: deiops\n      app.kubernetes.io/instance: deiops\n  policyTypes:", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: deiops\n      app.kubernetes.io/instance: deiops\n      app.kubernetes.io/part-of: deiops\n      tier: api\n  policyTypes:", "are not covered by a NetworkPolicy"},
		{"hook uses release secret", "name: deiops-provision\n                  key: crypto-keyring", "name: deiops\n                  key: crypto-keyring", "does not exist yet when the pre-install hook runs"},
		{"token mounted", "automountServiceAccountToken: false\n      enableServiceLinks: false\n      imagePullSecrets", "automountServiceAccountToken: true\n      enableServiceLinks: false\n      imagePullSecrets", "automountServiceAccountToken must be false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.old) {
				t.Fatalf("fixture text %q not in the rendering", c.old)
			}
			objs, err := Decode(strings.Replace(base, c.old, c.new, 1))
			if err != nil {
				t.Fatal(err)
			}
			err = Release{Namespace: namespace, Objects: objs, ExistingSecrets: secrets, Documented: docs}.Check()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("check did not report %q; got:\n%v", c.want, err)
			}
		})
	}

	// Strict decoding: unknown fields, wrong case and wrong types are rejected.
	for name, bad := range map[string]string{
		"unknown field": strings.Replace(base, "revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  replicaz: 2", 1),
		"wrong case":    strings.Replace(base, "serviceAccountName:", "ServiceAccountName:", 1),
		"wrong type":    strings.Replace(base, "revisionHistoryLimit: 5", "revisionHistoryLimit: five", 1),
		"unknown kind":  base + "\n---\napiVersion: v1\nkind: Banana\nmetadata:\n  name: x\n",
	} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("%s: strict decoding accepted it", name)
		}
	}
}

// The rendered manifests match the reviewed golden files; -update rewrites them.
func TestGolden(t *testing.T) {
	for _, f := range ciValues(t) {
		name := strings.TrimSuffix(filepath.Base(f), "-values.yaml") + ".yaml"
		t.Run(name, func(t *testing.T) {
			got, _ := render(t, f)
			path := filepath.Join(goldenDir, name)
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (in deploy/chartcheck run `go test -run TestGolden -update` to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("rendering of %s differs from %s; review the change and run with -update\n%s",
					filepath.Base(f), path, firstDifference(string(want), got))
			}
		})
	}
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  golden:   %q\n  rendered: %q", i+1, wl, gl)
		}
	}
	return ""
}
