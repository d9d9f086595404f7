package bus

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// headerCarrier adapts nats.Header for trace propagation. Unlike
// propagation.HeaderCarrier it keeps the lowercase W3C names (traceparent,
// tracestate, baggage): NATS headers are case-sensitive and integrators
// look for the exact names.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

func (c headerCarrier) Set(key, value string) { c[strings.ToLower(key)] = []string{value} }

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
