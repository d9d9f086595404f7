package bus

import (
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// busMetrics are labelled by subject, event type, consumer and outcome only:
// never by anything taken from an event's data.
type busMetrics struct {
	published  metric.Int64Counter
	publishDur metric.Float64Histogram
	handled    metric.Int64Counter
	handleDur  metric.Float64Histogram
	deadLetter metric.Int64Counter

	// Attribute sets are built once per label combination: building one
	// sorts and copies its attributes, on every message otherwise.
	attrSets sync.Map // attrKey -> metric.MeasurementOption
}

type attrKey struct{ consumer, eventType, outcome string }

func (m *busMetrics) attrs(k attrKey) metric.MeasurementOption {
	if v, ok := m.attrSets.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	kv := make([]attribute.KeyValue, 0, 3)
	if k.consumer != "" {
		kv = append(kv, attribute.String("consumer", k.consumer))
	}
	kv = append(kv, attribute.String("event_type", k.eventType), attribute.String("outcome", k.outcome))
	v, _ := m.attrSets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(kv...)))
	return v.(metric.MeasurementOption)
}

func (m *busMetrics) publishAttrs(eventType string, ok bool) metric.MeasurementOption {
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	return m.attrs(attrKey{eventType: eventType, outcome: outcome})
}

func newMetrics(m metric.Meter) (*busMetrics, error) {
	var bm busMetrics
	var err error
	if bm.published, err = m.Int64Counter("deiops.bus.published", metric.WithDescription("Events published, by type and outcome")); err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	if bm.publishDur, err = m.Float64Histogram("deiops.bus.publish.duration", metric.WithUnit("s"), metric.WithDescription("Time to obtain a PubAck, retries included")); err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	if bm.handled, err = m.Int64Counter("deiops.bus.handled", metric.WithDescription("Messages handled by consumers, by consumer, type and outcome (ack, retry, deadletter, duplicate)")); err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	if bm.handleDur, err = m.Float64Histogram("deiops.bus.handle.duration", metric.WithUnit("s"), metric.WithDescription("Handler time per message")); err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	if bm.deadLetter, err = m.Int64Counter("deiops.bus.deadlettered", metric.WithDescription("Messages moved to the dead-letter stream, by consumer")); err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	return &bm, nil
}
