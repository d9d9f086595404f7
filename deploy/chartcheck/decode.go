package chartcheck

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one rendered manifest, decoded into its API type.
type Object struct {
	APIVersion, Kind string
	Meta             metav1.ObjectMeta
	// Source is the template that produced it (Helm's "# Source:" line).
	Source string
	// Value is a pointer to the typed object (*appsv1.Deployment, ...).
	Value any
}

// ID names the object in messages.
func (o Object) ID() string { return o.Kind + "/" + o.Meta.Name }

// Hook is the helm.sh/hook annotation ("" for ordinary release objects).
func (o Object) Hook() string { return o.Meta.Annotations["helm.sh/hook"] }

// newObject returns an empty value of every type the chart may render.
var newObject = map[string]func() any{
	"v1/ConfigMap":      func() any { return &corev1.ConfigMap{} },
	"v1/Secret":         func() any { return &corev1.Secret{} },
	"v1/Service":        func() any { return &corev1.Service{} },
	"v1/ServiceAccount": func() any { return &corev1.ServiceAccount{} },
	"v1/Pod":            func() any { return &corev1.Pod{} },
	"apps/v1/Deployment": func() any {
		return &appsv1.Deployment{}
	},
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceLine   = regexp.MustCompile(`(?m)^# Source: (.+)$`)
)

// Decode splits a multi-document manifest and decodes every document strictly:
// unknown or duplicated fields, fields in the wrong case, wrong types and
// unknown kinds are errors. Every problem is reported.
func Decode(manifest string) ([]Object, error) {
	var objs []Object
	var errs []error
	for i, doc := range docSeparator.Split(manifest, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		source := ""
		if m := sourceLine.FindStringSubmatch(doc); m != nil {
			source = m[1]
		}
		o, err := decodeOne([]byte(doc))
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, source, err))
			continue
		}
		o.Source = source
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func decodeOne(doc []byte) (Object, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Object{}, err
	}
	var head struct {
		metav1.TypeMeta
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
		return Object{}, err
	}
	key := head.APIVersion + "/" + head.Kind
	mk, ok := newObject[key]
	if !ok {
		return Object{}, fmt.Errorf("kind %s is not one the chart is expected to render", key)
	}
	v := mk()
	strict, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return Object{}, fmt.Errorf("%s %s: %w", key, head.Metadata.Name, err)
	}
	if len(strict) > 0 {
		return Object{}, fmt.Errorf("%s %s: %w", key, head.Metadata.Name, errors.Join(strict...))
	}
	return Object{APIVersion: head.APIVersion, Kind: head.Kind, Meta: head.Metadata, Value: v}, nil
}
