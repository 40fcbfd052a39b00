package kpipe

/*
#include <stdlib.h>
#include "kpipe.h"
*/
import "C"

import (
	"runtime"
	"sync"
)

// Client is a kpipe client for one kpipe.yaml: routing, registry caches and one producer per
// cluster, shared by its Producer and Consumers. Safe for concurrent use. Close it when done
// (a finalizer closes a forgotten one, as a safety net only).
type Client struct {
	mu  sync.RWMutex // read: a call is using ptr; write: Close frees it
	ptr *C.kpipe_client
	// cluster names by their address in the client (kpipe_delivery.cluster)
	clusters sync.Map
}

func newClient(p *C.kpipe_client) *Client {
	c := &Client{ptr: p}
	runtime.SetFinalizer(c, func(c *Client) { c.Close() })
	return c
}

// Open reads a kpipe.yaml file (env overrides apply, docs/config.md).
func Open(path string) (*Client, error) {
	var e *C.kpipe_error
	p := C.kpipe_client_open(strPtr(path), C.size_t(len(path)), &e)
	runtime.KeepAlive(path)
	if p == nil {
		return nil, takeError(e)
	}
	return newClient(p), nil
}

// OpenConfig builds a client from kpipe.yaml text (relative schema paths start at the current
// directory).
func OpenConfig(yaml string) (*Client, error) {
	var e *C.kpipe_error
	p := C.kpipe_client_from_yaml(strPtr(yaml), C.size_t(len(yaml)), &e)
	runtime.KeepAlive(yaml)
	if p == nil {
		return nil, takeError(e)
	}
	return newClient(p), nil
}

// with runs f with the live handle, or fails closed.
func (c *Client) with(f func(p *C.kpipe_client) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return closedErr("client")
	}
	return f(c.ptr)
}

// Close closes everything the client created, then frees it. Idempotent. In order: its
// consumers commit what was handled and leave their groups (a goroutine blocked in Poll gets
// ErrClosed, Run returns nil), sends in progress finish, producers flush (all within
// producer.delivery_timeout_ms). Every later call on the client or its consumers fails
// ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return nil
	}
	var e *C.kpipe_error
	C.kpipe_client_close(c.ptr, &e)
	C.kpipe_client_free(c.ptr)
	c.ptr = nil
	runtime.SetFinalizer(c, nil)
	return takeError(e)
}

// Serializer says how a topic's keys or values become bytes.
type Serializer struct {
	kind   string // as kpipe.yaml spells it; the core parses it
	schema *string
	reader *string // the reader option as text; the core parses it
}

// WithReader sets the schema consumers read Avro records as: "schema" (the serializer's
// schema, the default), "writer" (each record as written) or "latest" (the subject's latest
// version). Parsed by the core: an unknown name, or a reader for a serializer other than
// Avro, is a config.invalid error from SetTopicSerde.
//
//	client.SetTopicSerde("orders", kpipe.TopicSerde{Value: kpipe.AvroLatest().WithReader("latest")})
func (s Serializer) WithReader(reader string) Serializer {
	s.reader = &reader
	return s
}

// Bytes sends []byte unchanged (the default of topics no serializers: entry matches).
func Bytes() Serializer { return Serializer{kind: "bytes"} }

// String sends UTF-8 text.
func String() Serializer { return Serializer{kind: "string"} }

// JSON sends the value's natural JSON text.
func JSON() Serializer { return Serializer{kind: "json"} }

// Avro writes Confluent-framed Avro with this writer schema (registered per the config).
func Avro(schema string) Serializer { return Serializer{kind: "avro", schema: &schema} }

// AvroLatest writes Avro with the subject's latest registered schema.
func AvroLatest() Serializer { return Serializer{kind: "avro"} }

// TopicSerde pairs a topic's key and value serializers (zero value: Bytes for both).
type TopicSerde struct {
	Key, Value Serializer
}

func schemaArg(s *string) (*C.uint8_t, C.size_t) {
	if s == nil {
		return nil, 0
	}
	if len(*s) == 0 {
		return (*C.uint8_t)(nil), 0
	}
	return strPtr(*s), C.size_t(len(*s))
}

// SetTopicSerde sets the serializers of topic (exact name), beating kpipe.yaml's serializers.
// Consumers use the same setting to decode.
func (c *Client) SetTopicSerde(topic string, s TopicSerde) error {
	return c.with(func(p *C.kpipe_client) error {
		ks, kl := schemaArg(s.Key.schema)
		vs, vl := schemaArg(s.Value.schema)
		kr, krl := schemaArg(s.Key.reader)
		vr, vrl := schemaArg(s.Value.reader)
		var e *C.kpipe_error
		key, value := s.Key.kind, s.Value.kind
		if key == "" {
			key = "bytes"
		}
		if value == "" {
			value = "bytes"
		}
		C.kpipe_client_set_topic_serde_readers(p, strPtr(topic), C.size_t(len(topic)), strPtr(key), C.size_t(len(key)), ks, kl, kr, krl,
			strPtr(value), C.size_t(len(value)), vs, vl, vr, vrl, &e)
		runtime.KeepAlive(key)
		runtime.KeepAlive(value)
		runtime.KeepAlive(topic)
		runtime.KeepAlive(s)
		return takeError(e)
	})
}

// Producer returns the client's producer (producers are per cluster and shared; this is a
// view over them).
func (c *Client) Producer() *Producer { return &Producer{c: c} }

func (c *Client) clusterName(p *C.uint8_t, n C.size_t) string {
	if v, ok := c.clusters.Load(uintptr(unsafePointer(p))); ok {
		return v.(string)
	}
	s := goString(p, n)
	c.clusters.Store(uintptr(unsafePointer(p)), s)
	return s
}
