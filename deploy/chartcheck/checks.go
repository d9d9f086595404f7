package chartcheck

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Release is one rendering of the chart and what it may rely on.
type Release struct {
	Namespace string
	Objects   []Object
	// ExistingSecrets are Secret names the values say exist already
	// (every existingSecret and imagePullSecrets entry).
	ExistingSecrets map[string]bool
	// Documented are the DEIOPS_* variables the binary reads.
	Documented map[string]bool
}

// RecommendedLabels must be on every rendered object.
var RecommendedLabels = []string{
	"app.kubernetes.io/name",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/version",
	"app.kubernetes.io/part-of",
	"app.kubernetes.io/managed-by",
	"helm.sh/chart",
}

// Check runs every check and reports every problem.
func (r Release) Check() error {
	return errors.Join(
		r.CheckMetadata(),
		r.CheckPods(),
		r.CheckReferences(),
		r.CheckSelectors(),
		r.CheckNetworkPolicy(),
		r.CheckSettings(),
	)
}

// pod is a pod spec with the object that carries it.
type pod struct {
	owner  Object
	labels map[string]string
	spec   *corev1.PodSpec
}

func (r Release) pods() []pod {
	var out []pod
	for _, o := range r.Objects {
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			out = append(out, pod{o, v.Spec.Template.Labels, &v.Spec.Template.Spec})
		case *batchv1.Job:
			out = append(out, pod{o, v.Spec.Template.Labels, &v.Spec.Template.Spec})
		case *corev1.Pod:
			out = append(out, pod{o, v.Labels, &v.Spec})
		}
	}
	return out
}

func objectsOf[T any](r Release) []T {
	var out []T
	for _, o := range r.Objects {
		if v, ok := o.Value.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// CheckMetadata: recommended labels on every object and its pods, the release
// namespace on every object (nothing hard-coded), no duplicate objects.
func (r Release) CheckMetadata() error {
	var errs []error
	seen := map[string]bool{}
	for _, o := range r.Objects {
		for _, l := range RecommendedLabels {
			if o.Meta.Labels[l] == "" {
				errs = append(errs, fmt.Errorf("%s: label %s missing", o.ID(), l))
			}
		}
		if o.Meta.Namespace != r.Namespace {
			errs = append(errs, fmt.Errorf("%s: namespace %q, want the release namespace %q", o.ID(), o.Meta.Namespace, r.Namespace))
		}
		if seen[o.ID()] {
			errs = append(errs, fmt.Errorf("%s rendered twice", o.ID()))
		}
		seen[o.ID()] = true
	}
	for _, p := range r.pods() {
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"} {
			if p.labels[l] == "" {
				errs = append(errs, fmt.Errorf("%s: pod label %s missing", p.owner.ID(), l))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckPods: every container non-root with a read-only root filesystem,
// no privilege escalation, every capability dropped, the RuntimeDefault
// seccomp profile, requests and a memory limit; no service-account token;
// every long-running container has startup, liveness and readiness probes on a
// declared port.
func (r Release) CheckPods() error {
	var errs []error
	for _, p := range r.pods() {
		id := p.owner.ID()
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", id, fmt.Sprintf(format, args...)))
		}
		s := p.spec
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			bad("automountServiceAccountToken must be false")
		}
		if s.HostNetwork || s.HostPID || s.HostIPC {
			bad("uses a host namespace")
		}
		psc := s.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
			bad("pod runs as uid 0")
		}
		for _, c := range append(slices.Clone(s.InitContainers), s.Containers...) {
			cid := "container " + c.Name
			sc := c.SecurityContext
			if sc == nil {
				bad("%s has no securityContext", cid)
				continue
			}
			nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			if !nonRoot {
				bad("%s: runAsNonRoot is not true", cid)
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				bad("%s runs as uid 0", cid)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				bad("%s: readOnlyRootFilesystem is not true", cid)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				bad("%s: allowPrivilegeEscalation is not false", cid)
			}
			if sc.Privileged != nil && *sc.Privileged {
				bad("%s is privileged", cid)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				bad("%s does not drop ALL capabilities", cid)
			} else if len(sc.Capabilities.Add) > 0 {
				bad("%s adds capabilities %v", cid, sc.Capabilities.Add)
			}
			seccomp := sc.SeccompProfile
			if seccomp == nil {
				seccomp = psc.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				bad("%s: seccompProfile is not RuntimeDefault", cid)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
				bad("%s: cpu and memory requests must be set", cid)
			}
			if c.Resources.Limits.Memory().IsZero() {
				bad("%s: a memory limit must be set", cid)
			}
			if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(c.Image, ":@") {
				bad("%s: image %q is not pinned to a tag or digest", cid, c.Image)
			}
			if p.owner.Kind != "Deployment" {
				continue
			}
			ports := map[string]bool{}
			for _, cp := range c.Ports {
				ports[cp.Name] = true
				ports[strconv.Itoa(int(cp.ContainerPort))] = true
			}
			probes := []struct {
				name, want string
				probe      *corev1.Probe
			}{
				{"startupProbe", "/healthz", c.StartupProbe},
				{"livenessProbe", "/healthz", c.LivenessProbe},
				{"readinessProbe", "/readyz", c.ReadinessProbe},
			}
			for _, pc := range probes {
				name, want, pr := pc.name, pc.want, pc.probe
				switch {
				case pr == nil || pr.HTTPGet == nil:
					bad("%s has no HTTP %s", cid, name)
				case pr.HTTPGet.Path != want:
					bad("%s: %s checks %s, want %s", cid, name, pr.HTTPGet.Path, want)
				case !ports[pr.HTTPGet.Port.String()]:
					bad("%s: %s port %s is not a container port", cid, name, pr.HTTPGet.Port.String())
				}
			}
		}
	}
	return errors.Join(errs...)
}

// hookEvents are the helm.sh/hook events of o.
func hookEvents(o Object) []string {
	h := o.Hook()
	if h == "" {
		return nil
	}
	var out []string
	for _, e := range strings.Split(h, ",") {
		out = append(out, strings.TrimSpace(e))
	}
	return out
}

// runsBeforeRelease: a pre-install hook runs before the release's own objects exist.
func runsBeforeRelease(o Object) bool {
	return slices.Contains(hookEvents(o), "pre-install")
}

func hookWeight(o Object) int {
	w, _ := strconv.Atoi(o.Meta.Annotations["helm.sh/hook-weight"])
	return w
}

// CheckReferences: every Secret, ConfigMap and ServiceAccount a pod uses is
// rendered (with the key it reads) or named in values as existing; a
// pre-install hook uses only objects that exist before the release (hook
// objects of a lower weight, or existing Secrets); ordinary pods never use
// hook objects, which Helm deletes once the hooks succeed.
func (r Release) CheckReferences() error {
	var errs []error
	secrets := map[string]Object{}
	configMaps := map[string]Object{}
	serviceAccounts := map[string]Object{}
	for _, o := range r.Objects {
		switch o.Kind {
		case "Secret":
			secrets[o.Meta.Name] = o
		case "ConfigMap":
			configMaps[o.Meta.Name] = o
		case "ServiceAccount":
			serviceAccounts[o.Meta.Name] = o
		}
	}
	usable := func(user, target Object) error {
		switch {
		case runsBeforeRelease(user):
			if target.Hook() == "" {
				return fmt.Errorf("is a release object, which does not exist yet when the pre-install hook runs")
			}
			if !slices.Equal(hookEvents(target), hookEvents(user)) || hookWeight(target) >= hookWeight(user) {
				return fmt.Errorf("is not a hook of the same events with a lower weight")
			}
		case target.Hook() != "":
			return fmt.Errorf("is a hook object (%s), deleted once the hooks succeed", target.Hook())
		}
		return nil
	}
	secretKey := func(user Object, name, key, via string) {
		if o, ok := secrets[name]; ok {
			if err := usable(user, o); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s Secret %s %v", user.ID(), via, name, err))
				return
			}
			s := o.Value.(*corev1.Secret)
			if _, ok := s.Data[key]; key != "" && !ok {
				if _, ok := s.StringData[key]; !ok {
					errs = append(errs, fmt.Errorf("%s: %s Secret %s has no key %q", user.ID(), via, name, key))
				}
			}
			return
		}
		if !r.ExistingSecrets[name] {
			errs = append(errs, fmt.Errorf("%s: %s Secret %q is neither rendered nor named as an existing Secret in values", user.ID(), via, name))
		}
	}
	configMapKey := func(user Object, name, key, via string) {
		o, ok := configMaps[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s ConfigMap %q is not rendered", user.ID(), via, name))
			return
		}
		if err := usable(user, o); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s ConfigMap %s %v", user.ID(), via, name, err))
			return
		}
		if _, ok := o.Value.(*corev1.ConfigMap).Data[key]; key != "" && !ok {
			errs = append(errs, fmt.Errorf("%s: %s ConfigMap %s has no key %q", user.ID(), via, name, key))
		}
	}
	for _, p := range r.pods() {
		u := p.owner
		s := p.spec
		for _, ps := range s.ImagePullSecrets {
			if !r.ExistingSecrets[ps.Name] {
				errs = append(errs, fmt.Errorf("%s: image pull Secret %q is not named in values", u.ID(), ps.Name))
			}
		}
		if sa := s.ServiceAccountName; sa != "" && sa != "default" {
			if o, ok := serviceAccounts[sa]; !ok {
				errs = append(errs, fmt.Errorf("%s: ServiceAccount %q is not rendered", u.ID(), sa))
			} else if err := usable(u, o); err != nil {
				errs = append(errs, fmt.Errorf("%s: ServiceAccount %s %v", u.ID(), sa, err))
			} else if sao := o.Value.(*corev1.ServiceAccount); sao.AutomountServiceAccountToken == nil || *sao.AutomountServiceAccountToken {
				errs = append(errs, fmt.Errorf("%s: ServiceAccount %s mounts its token", u.ID(), sa))
			}
		}
		for _, v := range s.Volumes {
			if v.Secret != nil {
				if len(v.Secret.Items) == 0 {
					secretKey(u, v.Secret.SecretName, "", "volume "+v.Name)
				}
				for _, it := range v.Secret.Items {
					secretKey(u, v.Secret.SecretName, it.Key, "volume "+v.Name)
				}
			}
			if v.ConfigMap != nil {
				configMapKey(u, v.ConfigMap.Name, "", "volume "+v.Name)
			}
		}
		for _, c := range append(slices.Clone(s.InitContainers), s.Containers...) {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					secretKey(u, ef.SecretRef.Name, "", "envFrom")
				}
				if ef.ConfigMapRef != nil {
					configMapKey(u, ef.ConfigMapRef.Name, "", "envFrom")
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if ref := e.ValueFrom.SecretKeyRef; ref != nil {
					secretKey(u, ref.Name, ref.Key, "env "+e.Name+" from")
				}
				if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
					configMapKey(u, ref.Name, ref.Key, "env "+e.Name+" from")
				}
			}
		}
	}
	return errors.Join(errs...)
}

func selects(sel map[string]string, podLabels map[string]string) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(podLabels))
}

func labelSelectorMatches(sel *metav1.LabelSelector, l map[string]string) (bool, error) {
	if sel == nil {
		return false, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return !s.Empty() && s.Matches(labels.Set(l)), nil
}

// CheckSelectors: Deployments select their own pods; every Service, PDB and
// HPA targets exactly one Deployment; Services, ServiceMonitors and Ingresses
// name ports that exist.
func (r Release) CheckSelectors() error {
	var errs []error
	deployments := objectsOf[*appsv1.Deployment](r)
	services := objectsOf[*corev1.Service](r)
	for _, d := range deployments {
		if ok, err := labelSelectorMatches(d.Spec.Selector, d.Spec.Template.Labels); err != nil || !ok {
			errs = append(errs, fmt.Errorf("Deployment/%s: selector does not match its pod template labels (%v)", d.Name, err))
		}
		for _, other := range deployments {
			if other != d {
				if ok, _ := labelSelectorMatches(d.Spec.Selector, other.Spec.Template.Labels); ok {
					errs = append(errs, fmt.Errorf("Deployment/%s: selector also matches the pods of Deployment/%s", d.Name, other.Name))
				}
			}
		}
	}
	matching := func(match func(map[string]string) bool) []*appsv1.Deployment {
		var out []*appsv1.Deployment
		for _, d := range deployments {
			if match(d.Spec.Template.Labels) {
				out = append(out, d)
			}
		}
		return out
	}
	for _, s := range services {
		ds := matching(func(l map[string]string) bool { return selects(s.Spec.Selector, l) })
		if len(ds) != 1 {
			errs = append(errs, fmt.Errorf("Service/%s: selector matches %d Deployments, want 1", s.Name, len(ds)))
			continue
		}
		for _, sp := range s.Spec.Ports {
			if !containerHasPort(ds[0].Spec.Template.Spec, sp.TargetPort.String()) {
				errs = append(errs, fmt.Errorf("Service/%s: targetPort %s is not a port of Deployment/%s", s.Name, sp.TargetPort.String(), ds[0].Name))
			}
		}
	}
	for _, p := range objectsOf[*policyv1.PodDisruptionBudget](r) {
		ds := matching(func(l map[string]string) bool { ok, _ := labelSelectorMatches(p.Spec.Selector, l); return ok })
		if len(ds) != 1 {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget/%s: selector matches %d Deployments, want 1", p.Name, len(ds)))
		}
		if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
			errs = append(errs, fmt.Errorf("PodDisruptionBudget/%s: set exactly one of minAvailable and maxUnavailable", p.Name))
		}
	}
	for _, h := range objectsOf[*autoscalingv2.HorizontalPodAutoscaler](r) {
		ref := h.Spec.ScaleTargetRef
		var target *appsv1.Deployment
		for _, d := range deployments {
			if ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && ref.Name == d.Name {
				target = d
			}
		}
		switch {
		case target == nil:
			errs = append(errs, fmt.Errorf("HorizontalPodAutoscaler/%s: scaleTargetRef %s/%s is not a rendered Deployment", h.Name, ref.Kind, ref.Name))
		case target.Spec.Replicas != nil:
			errs = append(errs, fmt.Errorf("HorizontalPodAutoscaler/%s: Deployment/%s also sets replicas, so every upgrade resets the autoscaler", h.Name, target.Name))
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			errs = append(errs, fmt.Errorf("HorizontalPodAutoscaler/%s: minReplicas must be set and at most maxReplicas", h.Name))
		}
	}
	for _, sm := range objectsOf[*monitoringv1.ServiceMonitor](r) {
		ns := sm.Spec.NamespaceSelector
		if !ns.Any && !slices.Contains(ns.MatchNames, r.Namespace) {
			errs = append(errs, fmt.Errorf("ServiceMonitor/%s: namespaceSelector does not include the release namespace", sm.Name))
		}
		var matched []*corev1.Service
		for _, s := range services {
			if ok, _ := labelSelectorMatches(&sm.Spec.Selector, s.Labels); ok {
				matched = append(matched, s)
			}
		}
		if len(matched) == 0 {
			errs = append(errs, fmt.Errorf("ServiceMonitor/%s: selector matches no Service", sm.Name))
		}
		for _, ep := range sm.Spec.Endpoints {
			for _, s := range matched {
				if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					errs = append(errs, fmt.Errorf("ServiceMonitor/%s: Service/%s has no port named %q", sm.Name, s.Name, ep.Port))
				}
			}
		}
	}
	for _, in := range objectsOf[*networkingv1.Ingress](r) {
		for _, rule := range in.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				b := p.Backend.Service
				if b == nil {
					errs = append(errs, fmt.Errorf("Ingress/%s: path %s has no Service backend", in.Name, p.Path))
					continue
				}
				i := slices.IndexFunc(services, func(s *corev1.Service) bool { return s.Name == b.Name })
				if i < 0 {
					errs = append(errs, fmt.Errorf("Ingress/%s: path %s goes to Service %q, which is not rendered", in.Name, p.Path, b.Name))
					continue
				}
				if !slices.ContainsFunc(services[i].Spec.Ports, func(sp corev1.ServicePort) bool {
					return (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
				}) {
					errs = append(errs, fmt.Errorf("Ingress/%s: path %s names a port Service/%s does not have", in.Name, p.Path, b.Name))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func containerHasPort(spec corev1.PodSpec, port string) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
				return true
			}
		}
	}
	return false
}

// CheckNetworkPolicy: when the release renders NetworkPolicies, every pod it
// creates is selected by one for both directions (default deny), the API port
// is open for ingress and DNS is reachable.
func (r Release) CheckNetworkPolicy() error {
	policies := objectsOf[*networkingv1.NetworkPolicy](r)
	if len(policies) == 0 {
		return nil
	}
	var errs []error
	for _, p := range r.pods() {
		ingress, egress := false, false
		for _, np := range policies {
			if ok, _ := labelSelectorMatches(&np.Spec.PodSelector, p.labels); !ok {
				continue
			}
			ingress = ingress || slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
			egress = egress || slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
		if !ingress || !egress {
			errs = append(errs, fmt.Errorf("%s: pods are not covered by a NetworkPolicy for ingress and egress", p.owner.ID()))
		}
		if p.owner.Kind != "Deployment" {
			continue
		}
		for _, c := range p.spec.Containers {
			for _, cp := range c.Ports {
				if !policyAllowsIngress(policies, p.labels, cp.ContainerPort) {
					errs = append(errs, fmt.Errorf("%s: no NetworkPolicy admits traffic to port %d (%s)", p.owner.ID(), cp.ContainerPort, cp.Name))
				}
			}
		}
		if !policyAllowsEgressPort(policies, p.labels, 53) {
			errs = append(errs, fmt.Errorf("%s: no NetworkPolicy allows DNS (port 53)", p.owner.ID()))
		}
	}
	return errors.Join(errs...)
}

func policyAllowsIngress(policies []*networkingv1.NetworkPolicy, podLabels map[string]string, port int32) bool {
	for _, np := range policies {
		if ok, _ := labelSelectorMatches(&np.Spec.PodSelector, podLabels); !ok {
			continue
		}
		for _, rule := range np.Spec.Ingress {
			if len(rule.Ports) == 0 {
				return true
			}
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.IntValue() == int(port) {
					return true
				}
			}
		}
	}
	return false
}

func policyAllowsEgressPort(policies []*networkingv1.NetworkPolicy, podLabels map[string]string, port int) bool {
	for _, np := range policies {
		if ok, _ := labelSelectorMatches(&np.Spec.PodSelector, podLabels); !ok {
			continue
		}
		for _, rule := range np.Spec.Egress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.IntValue() == port {
					return true
				}
			}
		}
	}
	return false
}

// CheckSettings: every DEIOPS_* variable set through a ConfigMap or a
// container's environment is one the binary reads, and the container port is
// the port of DEIOPS_HTTP_ADDR.
func (r Release) CheckSettings() error {
	var errs []error
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range r.Objects {
		if cm, ok := o.Value.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
			for _, k := range sortedKeys(cm.Data) {
				if strings.HasPrefix(k, "DEIOPS_") && !r.Documented[k] {
					errs = append(errs, fmt.Errorf("ConfigMap/%s sets %s, which deiops does not read", cm.Name, k))
				}
			}
		}
	}
	for _, p := range r.pods() {
		for _, c := range p.spec.Containers {
			env := map[string]string{}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && configMaps[ef.ConfigMapRef.Name] != nil {
					for k, v := range configMaps[ef.ConfigMapRef.Name].Data {
						env[k] = v
					}
				}
			}
			for _, e := range c.Env {
				env[e.Name] = e.Value
				if strings.HasPrefix(e.Name, "DEIOPS_") && !r.Documented[e.Name] {
					errs = append(errs, fmt.Errorf("%s: container %s sets %s, which deiops does not read", p.owner.ID(), c.Name, e.Name))
				}
			}
			if p.owner.Kind != "Deployment" {
				continue
			}
			_, port, err := net.SplitHostPort(env["DEIOPS_HTTP_ADDR"])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: DEIOPS_HTTP_ADDR %q: %v", p.owner.ID(), env["DEIOPS_HTTP_ADDR"], err))
				continue
			}
			if !containerHasPort(*p.spec, port) {
				errs = append(errs, fmt.Errorf("%s: DEIOPS_HTTP_ADDR port %s is not a declared container port", p.owner.ID(), port))
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
