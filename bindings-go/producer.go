package kpipe

/*
#include <stdlib.h>
#include "kpipe.h"
*/
import "C"

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	gojson "github.com/goccy/go-json"
)

func unsafePointer(p *C.uint8_t) unsafe.Pointer { return unsafe.Pointer(p) }

// Producer sends records through the client's routed, per-cluster producers. Safe for
// concurrent use from many goroutines.
type Producer struct{ c *Client }

// Delivery is where a record was written.
type Delivery struct {
	Cluster   string
	Topic     string
	Partition int32
	Offset    int64
	// Timestamp as the broker stored it (zero when unknown).
	Timestamp time.Time
}

// Header is one record header. A nil Value is a null header value, distinct from an empty
// one ([]byte{}): both are sent and read back as they are.
type Header struct {
	Key   string
	Value []byte
}

// Record is one record for SendMany.
type Record struct {
	Topic     string
	Key       any
	Value     any
	Headers   []Header
	Timestamp time.Time // zero: now
}

// SendOption sets optional fields of Send.
type SendOption func(*Record)

// WithHeaders adds headers.
func WithHeaders(h ...Header) SendOption {
	return func(r *Record) { r.Headers = append(r.Headers, h...) }
}

// WithTimestamp sets the record's timestamp.
func WithTimestamp(t time.Time) SendOption { return func(r *Record) { r.Timestamp = t } }

// batch is the C layout of records: an array of offsets into one data buffer (no pointers,
// so it may be passed to C as Go memory). Values are marshalled straight into the data buffer
// (one JSON encoder per batch, no copy per record); batches are pooled, so a steady stream of
// SendMany calls reuses the same memory.
type batch struct {
	recs []C.kpipe_record
	data []byte
	enc  *gojson.Encoder
}

var batches = sync.Pool{New: func() any { return new(batch) }}

// maxPooled: a batch whose buffers grew beyond this is not kept.
const maxPooled = 64 << 20

func getBatch() *batch { return batches.Get().(*batch) }

func putBatch(b *batch) {
	if cap(b.data) > maxPooled || cap(b.recs)*int(unsafe.Sizeof(C.kpipe_record{})) > maxPooled {
		return
	}
	b.recs, b.data = b.recs[:0], b.data[:0]
	batches.Put(b)
}

// Write appends to the data buffer (the JSON encoder's output).
func (b *batch) Write(p []byte) (int, error) {
	b.data = append(b.data, p...)
	return len(p), nil
}

func (b *batch) put(s []byte) (C.uint64_t, C.uint64_t) {
	off := len(b.data)
	b.data = append(b.data, s...)
	return C.uint64_t(off), C.uint64_t(len(s))
}

// putValue appends a key or value (encodeValue's rules) and returns its kind and place.
func (b *batch) putValue(v any, isKey bool) (C.int32_t, C.uint64_t, C.uint64_t, error) {
	if k, raw, ok := plainValue(v, isKey); ok {
		off, n := b.put(raw)
		return C.int32_t(k), off, n, nil
	}
	if b.enc == nil {
		b.enc = gojson.NewEncoder(b)
	}
	off := len(b.data)
	if err := b.enc.Encode(v); err != nil {
		// encoding/json decides (codec.go)
		b.data = b.data[:off]
		js, err := json.Marshal(v)
		if err != nil {
			return 0, 0, 0, marshalError(err)
		}
		b.data = append(b.data, js...)
		return dataJSON, C.uint64_t(off), C.uint64_t(len(js)), nil
	}
	// Encode ends the text with a newline: leave it out
	end := len(b.data)
	if end > off && b.data[end-1] == '\n' {
		end--
	}
	return dataJSON, C.uint64_t(off), C.uint64_t(end - off), nil
}

func (b *batch) add(r *Record) error {
	var cr C.kpipe_record
	start := len(b.data)
	cr.topic_off, cr.topic_len = b.put(unsafe.Slice(unsafe.StringData(r.Topic), len(r.Topic)))
	var err error
	if cr.key_kind, cr.key_off, cr.key_len, err = b.putValue(r.Key, true); err != nil {
		b.data = b.data[:start]
		return err
	}
	if cr.value_kind, cr.value_off, cr.value_len, err = b.putValue(r.Value, false); err != nil {
		b.data = b.data[:start]
		return err
	}
	hoff := len(b.data)
	for _, h := range r.Headers {
		b.data = binary.LittleEndian.AppendUint32(b.data, uint32(len(h.Key)))
		b.data = append(b.data, h.Key...)
		if h.Value == nil {
			b.data = binary.LittleEndian.AppendUint32(b.data, C.KPIPE_HEADER_NULL)
			continue
		}
		b.data = binary.LittleEndian.AppendUint32(b.data, uint32(len(h.Value)))
		b.data = append(b.data, h.Value...)
	}
	cr.headers_off, cr.headers_len = C.uint64_t(hoff), C.uint64_t(len(b.data)-hoff)
	if !r.Timestamp.IsZero() {
		cr.timestamp_ms, cr.has_timestamp = C.int64_t(r.Timestamp.UnixMilli()), 1
	}
	b.recs = append(b.recs, cr)
	return nil
}

// withCancel runs call with a cancel token that fires when ctx is done (nil token when ctx
// can never be done).
func withCancel(ctx context.Context, call func(tok *C.kpipe_cancel) C.int32_t) C.int32_t {
	if ctx.Done() == nil {
		return call(nil)
	}
	tok := C.kpipe_cancel_new()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.kpipe_cancel_trigger(tok)
		close(fired)
	})
	rc := call(tok)
	if !stop() {
		<-fired // the trigger runs or ran: let it finish before freeing the token
	}
	C.kpipe_cancel_free(tok)
	return rc
}

func (p *Producer) delivery(d *C.kpipe_delivery, topic string) Delivery {
	out := Delivery{Cluster: p.c.clusterName(d.cluster, d.cluster_len), Topic: topic, Partition: int32(d.partition), Offset: int64(d.offset)}
	if d.has_timestamp != 0 {
		out.Timestamp = time.UnixMilli(int64(d.timestamp_ms))
	}
	return out
}

// Send sends one record and waits for its acknowledgement. value is any Go value
// encoding/json can marshal (encoded by the topic's serializer, e.g. Avro through the
// registry); []byte and RawBytes are sent unchanged; nil is no value (a tombstone). key: nil,
// a string (text), []byte (raw) or a value like value. Cancelling ctx returns ctx.Err()
// promptly; the record may still be written.
func (p *Producer) Send(ctx context.Context, topic string, key, value any, opts ...SendOption) (Delivery, error) {
	if err := ctx.Err(); err != nil {
		return Delivery{}, err
	}
	r := Record{Topic: topic, Key: key, Value: value}
	for _, o := range opts {
		o(&r)
	}
	b := getBatch()
	defer putBatch(b)
	if err := b.add(&r); err != nil {
		return Delivery{}, err
	}
	var d C.kpipe_delivery
	var e *C.kpipe_error
	var rc C.int32_t
	err := p.c.with(func(cp *C.kpipe_client) error {
		rc = withCancel(ctx, func(tok *C.kpipe_cancel) C.int32_t {
			return C.kpipe_send(cp, &b.recs[0], bytesPtr(b.data), C.size_t(len(b.data)), tok, &d, &e)
		})
		return nil
	})
	runtime.KeepAlive(b)
	if err != nil {
		return Delivery{}, err
	}
	switch rc {
	case C.KPIPE_OK:
		return p.delivery(&d, topic), nil
	case C.KPIPE_CANCELLED:
		return Delivery{}, ctx.Err()
	default:
		return Delivery{}, takeError(e)
	}
}

// SendMany sends every record (queued back to back, one crossing into the core) and waits for
// every acknowledgement. It returns one Delivery and one error per record, in order; err is
// set only when the call as a whole failed (closed client, ctx cancelled).
func (p *Producer) SendMany(ctx context.Context, records []Record) ([]Delivery, []error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	n := len(records)
	deliveries := make([]Delivery, n)
	errs := make([]error, n)
	if n == 0 {
		return deliveries, errs, nil
	}
	b := getBatch()
	defer putBatch(b)
	// records that fail to marshal are left out of the call (index: the records in it, when
	// some are left out)
	var index []int
	for i := range records {
		if err := b.add(&records[i]); err != nil {
			if index == nil {
				index = make([]int, i, n)
				for j := range index {
					index[j] = j
				}
			}
			errs[i] = err
			continue
		}
		if index != nil {
			index = append(index, i)
		}
	}
	if index == nil {
		index = identity(n)
	}
	if len(index) == 0 {
		return deliveries, errs, nil
	}
	outs := make([]C.kpipe_delivery, len(index))
	cerrs := make([]*C.kpipe_error, len(index))
	var e *C.kpipe_error
	var rc C.int32_t
	err := p.c.with(func(cp *C.kpipe_client) error {
		rc = withCancel(ctx, func(tok *C.kpipe_cancel) C.int32_t {
			return C.kpipe_send_many(cp, &b.recs[0], C.size_t(len(b.recs)), bytesPtr(b.data), C.size_t(len(b.data)), tok,
				&outs[0], &cerrs[0], &e)
		})
		return nil
	})
	runtime.KeepAlive(b)
	if err != nil {
		return nil, nil, err
	}
	switch rc {
	case C.KPIPE_OK:
	case C.KPIPE_CANCELLED:
		return nil, nil, ctx.Err()
	default:
		return nil, nil, takeError(e)
	}
	for j, i := range index {
		if cerrs[j] != nil {
			errs[i] = takeError(cerrs[j])
			continue
		}
		deliveries[i] = p.delivery(&outs[j], records[i].Topic)
	}
	return deliveries, errs, nil
}

// identity is [0, 1, ..., n-1] (shared, read-only, grown on demand).
func identity(n int) []int {
	if p := identityInts.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	identityInts.Store(&s)
	return s
}

var identityInts atomic.Pointer[[]int]

// Flush waits until every record queued so far is delivered or failed, or ctx is done
// (checked every 100 ms).
func (p *Producer) Flush(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var e *C.kpipe_error
		err := p.c.with(func(cp *C.kpipe_client) error {
			C.kpipe_client_flush(cp, 100, &e)
			return nil
		})
		if err != nil {
			return err
		}
		err = takeError(e)
		if err == nil {
			return nil
		}
		if !isCode(err, "kafka.timeout") {
			return err
		}
	}
}

func isCode(err error, code string) bool {
	e, ok := err.(*Error)
	return ok && e.Code == code
}
