package kpipe

/*
#include <stdlib.h>
#include "kpipe.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pollSlice bounds every blocking wait inside the core, so a cancelled context is noticed
// within about this long.
const pollSlice = 100 * time.Millisecond

// Consumer is a group consumer on one cluster. Safe for concurrent use; Close it when done
// (it commits what was handled and leaves the group; a finalizer is only a safety net).
type Consumer struct {
	mu     sync.RWMutex // read: a call is using ptr; write: Close frees it
	ptr    *C.kpipe_consumer
	client *Client
	topic  string // the last topic name seen (reused to spare an allocation per message)
	tmu    sync.Mutex
	// Poll takes up to pollBatch already-fetched records per crossing into the core (the core's
	// poll session lends them) and hands them out one by one from queue, telling the session
	// each one it hands out (which acknowledges the previous one with ack "implicit"). Records
	// there are not acknowledged: dropped by Close or a Seek of their partition, they are not
	// committed and come again.
	fmu    sync.Mutex // one crossing (fill) at a time, and no fill during a Seek; guards outs, views
	qmu    sync.Mutex // guards queue (never held across a crossing)
	queue  []*Message
	outs   []*C.kpipe_message
	views  []C.kpipe_message_view
	closed atomic.Bool
}

// pollBatch is the most records one Poll crossing takes (only those librdkafka has already
// fetched; the wait is for the first): the core's batch size, the same in every binding.
const pollBatch = C.KPIPE_POLL_BATCH

// ConsumerOption configures Client.Consumer.
type ConsumerOption func(*consumerOptions)

type consumerOptions struct {
	Group      string            `json:"group"`
	Topics     []string          `json:"topics,omitempty"`
	Pattern    string            `json:"pattern,omitempty"`
	Start      any               `json:"start,omitempty"`
	Commit     string            `json:"commit,omitempty"`
	Ack        string            `json:"ack,omitempty"`
	Cluster    string            `json:"cluster,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// FromEarliest starts partitions new to this consumer at their earliest offset.
func FromEarliest() ConsumerOption { return func(o *consumerOptions) { o.Start = "earliest" } }

// FromLatest starts partitions new to this consumer at their end.
func FromLatest() ConsumerOption { return func(o *consumerOptions) { o.Start = "latest" } }

// FromCommitted (the default) starts at the group's committed offset (earliest when none).
func FromCommitted() ConsumerOption { return func(o *consumerOptions) { o.Start = "committed" } }

// FromOffset starts every partition at offset.
func FromOffset(offset int64) ConsumerOption {
	return func(o *consumerOptions) { o.Start = map[string]int64{"offset": offset} }
}

// FromTime starts at the first record with a timestamp >= t.
func FromTime(t time.Time) ConsumerOption {
	return func(o *consumerOptions) { o.Start = map[string]int64{"timestamp": t.UnixMilli()} }
}

// WithCommit overrides consumer.commit: "after-handle", "manual" or "auto".
func WithCommit(mode string) ConsumerOption { return func(o *consumerOptions) { o.Commit = mode } }

// WithAck sets the acknowledgement mode (docs/client.md): "implicit" (the default: the previous
// record is acknowledged when the next is asked for by Poll, and the last one on Close) or
// "explicit" (only Ack or Commit acknowledge; for handing records to other goroutines). Run
// acknowledges each record after its handler returns, in both modes.
func WithAck(mode string) ConsumerOption { return func(o *consumerOptions) { o.Ack = mode } }

// WithPattern subscribes to a regex of topic names instead (needs WithCluster).
func WithPattern(p string) ConsumerOption { return func(o *consumerOptions) { o.Pattern = p } }

// WithCluster names the cluster (required with a pattern; checked against the routes).
func WithCluster(c string) ConsumerOption { return func(o *consumerOptions) { o.Cluster = c } }

// WithProperty sets a librdkafka property of this consumer.
func WithProperty(k, v string) ConsumerOption {
	return func(o *consumerOptions) {
		if o.Properties == nil {
			o.Properties = map[string]string{}
		}
		o.Properties[k] = v
	}
}

// Consumer subscribes group to topics (all routed to one cluster).
func (c *Client) Consumer(ctx context.Context, group string, topics []string, opts ...ConsumerOption) (*Consumer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := consumerOptions{Group: group, Topics: topics}
	for _, f := range opts {
		f(&o)
	}
	if o.Pattern != "" {
		o.Topics = nil
	}
	js, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var p *C.kpipe_consumer
	var e *C.kpipe_error
	if err := c.with(func(cp *C.kpipe_client) error {
		p = C.kpipe_consumer_new(cp, bytesPtr(js), C.size_t(len(js)), &e)
		return nil
	}); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, takeError(e)
	}
	cons := &Consumer{ptr: p, client: c}
	runtime.SetFinalizer(cons, func(c *Consumer) { c.Close() })
	return cons, nil
}

func (c *Consumer) with(f func(p *C.kpipe_consumer) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return closedErr("consumer")
	}
	return f(c.ptr)
}

// Message is one consumed record: raw key and value, headers, and the decoded key and value
// as natural JSON (docs/avro.md) for Decode / DecodeKey.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time // zero when the record has none
	Key       []byte    // raw bytes; nil when the record has no key
	Value     []byte    // raw bytes; nil for a tombstone
	Headers   []Header
	// KeyJSON / ValueJSON: the decoded key / value as natural JSON (nil when absent).
	KeyJSON   json.RawMessage
	ValueJSON json.RawMessage
	// DecodeErr: why the key or value could not be decoded (serde.decode, ...), or nil.
	DecodeErr error
}

// Decode unmarshals the decoded value into v (encoding/json rules: structs with json tags,
// maps, time.Time for timestamps, Decimal, UUID, Date, ...; codec.go).
func (m *Message) Decode(v any) error {
	if m.DecodeErr != nil {
		return m.DecodeErr
	}
	if m.ValueJSON == nil {
		return jsonUnmarshal([]byte("null"), v)
	}
	return jsonUnmarshal(m.ValueJSON, v)
}

// DecodeKey unmarshals the decoded key into v.
func (m *Message) DecodeKey(v any) error {
	if m.DecodeErr != nil {
		return m.DecodeErr
	}
	if m.KeyJSON == nil {
		return jsonUnmarshal([]byte("null"), v)
	}
	return jsonUnmarshal(m.KeyJSON, v)
}

// Header returns the first header named key.
func (m *Message) Header(key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

func (c *Consumer) topicName(p *C.uint8_t, n C.size_t) string {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if len(c.topic) == int(n) && (n == 0 || string(unsafeBytes(p, n)) == c.topic) {
		return c.topic
	}
	c.topic = goString(p, n)
	return c.topic
}

func (c *Consumer) message(v *C.kpipe_message_view) *Message {
	m := &Message{
		Topic:     c.topicName(v.topic, v.topic_len),
		Partition: int32(v.partition),
		Offset:    int64(v.offset),
	}
	if v.has_timestamp != 0 {
		m.Timestamp = time.UnixMilli(int64(v.timestamp_ms))
	}
	// raw key and value and their JSON: one copy into one allocation
	n := 0
	if v.has_key != 0 {
		n += int(v.key_len)
	}
	if v.has_value != 0 {
		n += int(v.value_len)
	}
	if v.has_key_json != 0 {
		n += int(v.key_json_len)
	}
	if v.has_value_json != 0 {
		n += int(v.value_json_len)
	}
	all := make([]byte, n)
	take := func(p *C.uint8_t, l C.size_t) []byte {
		k := copy(all, unsafeBytes(p, l))
		b := all[:k:k]
		all = all[k:]
		return b
	}
	if v.has_key != 0 {
		m.Key = take(v.key, v.key_len)
	}
	if v.has_value != 0 {
		m.Value = take(v.value, v.value_len)
	}
	if v.header_count > 0 {
		hs := unsafeSlice(v.headers, int(v.header_count))
		m.Headers = make([]Header, len(hs))
		for i, h := range hs {
			// a null value (NULL pointer) stays nil; an empty one is []byte{}
			var value []byte
			if h.value != nil {
				value = goBytesNonNil(h.value, h.value_len)
			}
			m.Headers[i] = Header{Key: goString(h.name, h.name_len), Value: value}
		}
	}
	if v.has_key_json != 0 {
		m.KeyJSON = take(v.key_json, v.key_json_len)
	}
	if v.has_value_json != 0 {
		m.ValueJSON = take(v.value_json, v.value_json_len)
	}
	if v.decode_error != nil {
		m.DecodeErr = borrowError(v.decode_error)
	}
	return m
}

// Poll waits for the next record until ctx is done (then it returns ctx.Err(), within about
// 100 ms). Its key and value are decoded (Message.Decode). With ack "implicit" (the default)
// the previous record Poll returned is acknowledged now (only acknowledged records are
// committed); with WithAck("explicit") call Ack (or Commit) once a record is handled.
// One crossing into the core takes up to KPIPE_POLL_BATCH records librdkafka has already
// fetched; Poll hands them out in order.
func (c *Consumer) Poll(ctx context.Context) (*Message, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if m, err := c.next(); m != nil || err != nil {
			if err == nil {
				err = c.handed(m)
			}
			if err != nil {
				return nil, err
			}
			return m, nil
		}
		if err := c.fill(ctx); err != nil {
			return nil, err
		}
	}
}

// next pops the queue (nil when empty; ErrClosed once Close began).
func (c *Consumer) next() (*Message, error) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closed.Load() {
		c.queue = nil
		return nil, closedErr("consumer")
	}
	if len(c.queue) == 0 {
		return nil, nil
	}
	m := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	return m, nil
}

// fill polls up to pollBatch records into the queue (none when the wait times out).
func (c *Consumer) fill(ctx context.Context) error {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	c.qmu.Lock()
	pending := len(c.queue)
	c.qmu.Unlock()
	if pending > 0 {
		return nil // another Poll filled it meanwhile
	}
	if c.outs == nil {
		c.outs = make([]*C.kpipe_message, pollBatch)
		c.views = make([]C.kpipe_message_view, pollBatch)
	}
	var got []*Message
	err := c.with(func(p *C.kpipe_consumer) error {
		var e *C.kpipe_error
		var n C.size_t
		rc := C.kpipe_consumer_poll_batch(p, C.int64_t(sliceOf(ctx)/time.Millisecond), 1, C.size_t(len(c.outs)), &c.outs[0], &c.views[0], &n, &e)
		switch rc {
		case C.KPIPE_OK:
			got = make([]*Message, n)
			for i := range got {
				got[i] = c.message(&c.views[i])
				C.kpipe_message_free(c.outs[i])
				c.outs[i] = nil
			}
		case C.KPIPE_TIMEOUT:
		default:
			return takeError(e)
		}
		return nil
	})
	if err != nil || len(got) == 0 {
		return err
	}
	c.qmu.Lock()
	c.queue = append(c.queue, got...)
	c.qmu.Unlock()
	return nil
}

// handed tells the core's session that m is handed to the user (the acknowledgement policy is
// the core's).
func (c *Consumer) handed(m *Message) error {
	return c.with(func(p *C.kpipe_consumer) error {
		var e *C.kpipe_error
		if C.kpipe_consumer_handed(p, strPtr(m.Topic), C.size_t(len(m.Topic)), C.int32_t(m.Partition), C.int64_t(m.Offset), &e) != C.KPIPE_OK {
			return takeError(e)
		}
		runtime.KeepAlive(m)
		return nil
	})
}

// dropAll forgets every queued record (Run reads the consumer itself; the core's session moves
// their partitions back to them).
func (c *Consumer) dropAll() {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	c.qmu.Lock()
	defer c.qmu.Unlock()
	clear(c.queue)
	c.queue = c.queue[:0]
}

// dropQueued forgets queued records of topic/partition (a Seek moved it).
func (c *Consumer) dropQueued(topic string, partition int32) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	kept := c.queue[:0]
	for _, m := range c.queue {
		if m.Topic != topic || m.Partition != partition {
			kept = append(kept, m)
		}
	}
	for i := len(kept); i < len(c.queue); i++ {
		c.queue[i] = nil
	}
	c.queue = kept
}

// sliceOf is the next wait: pollSlice, shorter when ctx's deadline is nearer.
func sliceOf(ctx context.Context) time.Duration {
	d := pollSlice
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = left
		}
	}
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}

// Ack marks msg handled (needed with WithAck("explicit"); harmless otherwise): it is committed (by the after-handle timer, Commit, a rebalance or
// Close) once every earlier record of its partition is handled too.
func (c *Consumer) Ack(msg *Message) error {
	return c.with(func(p *C.kpipe_consumer) error {
		var e *C.kpipe_error
		C.kpipe_consumer_ack(p, strPtr(msg.Topic), C.size_t(len(msg.Topic)), C.int32_t(msg.Partition), C.int64_t(msg.Offset), &e)
		runtime.KeepAlive(msg)
		return takeError(e)
	})
}

// Commit acknowledges msg (when not nil; when nil, with ack "implicit", the last record Poll
// returned) and commits every committable offset now, waiting for the broker.
func (c *Consumer) Commit(msg *Message) error {
	return c.with(func(p *C.kpipe_consumer) error {
		var e *C.kpipe_error
		if msg != nil {
			C.kpipe_consumer_commit(p, 1, strPtr(msg.Topic), C.size_t(len(msg.Topic)), C.int32_t(msg.Partition), C.int64_t(msg.Offset), &e)
			runtime.KeepAlive(msg)
		} else {
			C.kpipe_consumer_commit(p, 0, nil, 0, 0, 0, &e)
		}
		return takeError(e)
	})
}

// Seek moves an assigned partition to offset (records of it that Poll has taken but not yet
// returned are dropped).
func (c *Consumer) Seek(topic string, partition int32, offset int64) error {
	// no crossing in progress (each ends within about 100 ms) may queue records fetched before
	// the seek
	c.fmu.Lock()
	defer c.fmu.Unlock()
	c.dropQueued(topic, partition)
	return c.with(func(p *C.kpipe_consumer) error {
		var e *C.kpipe_error
		C.kpipe_consumer_seek(p, strPtr(topic), C.size_t(len(topic)), C.int32_t(partition), C.int64_t(offset), 10000, &e)
		runtime.KeepAlive(topic)
		return takeError(e)
	})
}

// PartitionLag is the lag of one assigned partition.
type PartitionLag struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	Position      int64  `json:"position"`
	HighWatermark int64  `json:"high_watermark"`
	Lag           int64  `json:"lag"`
}

// Lag reports position and lag per assigned partition.
func (c *Consumer) Lag() ([]PartitionLag, error) {
	var out []PartitionLag
	err := c.with(func(p *C.kpipe_consumer) error {
		var b C.kpipe_buf
		var e *C.kpipe_error
		if C.kpipe_consumer_lag(p, 10000, &b, &e) != C.KPIPE_OK {
			return takeError(e)
		}
		return json.Unmarshal(takeBuf(b), &out)
	})
	return out, err
}

// Close commits what was handled, leaves the group and frees the consumer. Idempotent. It
// waits for calls in progress (each returns within about 100 ms).
func (c *Consumer) Close() error {
	c.closed.Store(true) // Poll hands out no more queued records
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return nil
	}
	var e *C.kpipe_error
	C.kpipe_consumer_close(c.ptr, &e)
	C.kpipe_consumer_free(c.ptr)
	c.ptr = nil
	runtime.SetFinalizer(c, nil)
	return takeError(e)
}
