package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/events"
)

// Dead-letter headers added to the original message's headers.
const (
	HeaderDLReason     = "Deiops-Deadletter-Reason"
	HeaderDLConsumer   = "Deiops-Deadletter-Consumer"
	HeaderDLStream     = "Deiops-Deadletter-Stream"
	HeaderDLSequence   = "Deiops-Deadletter-Sequence"
	HeaderDLSubject    = "Deiops-Deadletter-Subject"
	HeaderDLDeliveries = "Deiops-Deadletter-Deliveries"
)

// deadLetter stores a copy of m, with the reason, in the dead-letter stream.
// The copy's Nats-Msg-Id is derived from the stream position, so the
// in-process path and the advisory path never store it twice.
func (b *Bus) deadLetter(ctx context.Context, consumer string, m jetstream.Msg, meta *jetstream.MsgMetadata, reason string) error {
	stream, seq, deliveries := "", uint64(0), uint64(0)
	if meta != nil {
		stream, seq, deliveries = meta.Stream, meta.Sequence.Stream, meta.NumDelivered
	}
	return b.storeDeadLetter(ctx, consumer, stream, seq, deliveries, m.Subject(), m.Headers(), m.Data(), reason)
}

func (b *Bus) storeDeadLetter(ctx context.Context, consumer, stream string, seq, deliveries uint64, subject string, hdr nats.Header, data []byte, reason string) error {
	dl := nats.NewMsg(events.DeadLetterPrefix + "." + consumer)
	for k, v := range hdr {
		if k == jetstream.MsgIDHeader {
			continue
		}
		dl.Header[k] = append([]string(nil), v...)
	}
	dl.Header.Set(HeaderDLReason, truncate(reason, 1024))
	dl.Header.Set(HeaderDLConsumer, consumer)
	dl.Header.Set(HeaderDLStream, stream)
	dl.Header.Set(HeaderDLSequence, strconv.FormatUint(seq, 10))
	dl.Header.Set(HeaderDLSubject, subject)
	dl.Header.Set(HeaderDLDeliveries, strconv.FormatUint(deliveries, 10))
	dl.Data = data
	id := fmt.Sprintf("dl:%s:%s:%d", stream, consumer, seq)
	if err := b.publishWithRetry(ctx, dl, id); err != nil {
		return fmt.Errorf("dead-letter %s seq %d: %w", stream, seq, err)
	}
	b.m.deadLetter.Add(ctx, 1)
	b.log.WarnContext(ctx, "message dead-lettered", "consumer", consumer, "stream", stream, "sequence", seq, "reason", reason)
	return nil
}

// maxDeliveriesAdvisoryMsg is the part of io.nats.jetstream.advisory.v1.max_deliver we use.
type maxDeliveriesAdvisoryMsg struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// StartDeadLetterer handles max-deliveries advisories kept in the advisory
// stream: when a message's last delivery was never answered (its handler
// crashed or hung), the message is copied to the dead-letter stream. Every
// deiops process may run it; the durable consumer shares the work.
func (b *Bus) StartDeadLetterer(ctx context.Context) (*Running, error) {
	return b.StartRaw(ctx, AdvisoryStream, jetstream.ConsumerConfig{
		Durable:       "deadletterer",
		Description:   "copies messages that exhausted their deliveries to the dead-letter stream",
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}, func(ctx context.Context, m jetstream.Msg) error {
		return b.handleAdvisory(ctx, m.Data())
	})
}

func (b *Bus) handleAdvisory(ctx context.Context, data []byte) error {
	var adv maxDeliveriesAdvisoryMsg
	if err := json.Unmarshal(data, &adv); err != nil || adv.Stream == "" {
		b.log.WarnContext(ctx, "ignoring unreadable advisory")
		return nil
	}
	if adv.Stream == AdvisoryStream || adv.Stream == events.DeadLetterStream {
		return nil
	}
	s, err := b.js.Stream(ctx, adv.Stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", adv.Stream, err)
	}
	raw, err := s.GetMsg(ctx, adv.StreamSeq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil // already gone (limits or purge): nothing left to keep
		}
		return fmt.Errorf("load %s seq %d: %w", adv.Stream, adv.StreamSeq, err)
	}
	reason := fmt.Sprintf("gave up after %d deliveries without an answer (handler crashed or timed out)", adv.Deliveries)
	return b.storeDeadLetter(ctx, adv.Consumer, adv.Stream, adv.StreamSeq, adv.Deliveries, raw.Subject, raw.Header, raw.Data, reason)
}
