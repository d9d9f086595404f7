package events_test

import (
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/events"
)

// BenchmarkDecodeAttributes is the consumer's read of one envelope's
// headers (the bus's wire format: 9 attributes, traceparent, Nats-Msg-Id).
func BenchmarkDecodeAttributes(b *testing.B) {
	env, err := events.New(caseEscalated{CaseID: "c-1", Level: 2, EscalatedAt: at}, "/bench", "c-1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	h := events.Header{}
	data := env.Encode(h)
	h["traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	h["Nats-Msg-Id"] = []string{env.ID}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := events.DecodeAttributes(h, data, env.Topic); err != nil {
			b.Fatal(err)
		}
	}
}
