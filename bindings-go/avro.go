package kpipe

/*
#include "kpipe.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
)

// EncodeAvro encodes a Go value (as natural JSON) with an Avro schema, without a registry:
// the Avro body, without the 5-byte Confluent header. Handy for tests and the conformance
// vectors; Send does this (plus the header) through the registry.
func EncodeAvro(schema string, value any) ([]byte, error) {
	_, js, err := encodeValue(value, false)
	if raw, ok := value.(json.RawMessage); ok {
		js, err = raw, nil
	} else if _, ok := value.([]byte); ok {
		js, err = jsonMarshal(value)
	}
	if err != nil {
		return nil, err
	}
	var b C.kpipe_buf
	var e *C.kpipe_error
	rc := C.kpipe_avro_encode(strPtr(schema), C.size_t(len(schema)), bytesPtr(js), C.size_t(len(js)), &b, &e)
	runtime.KeepAlive(schema)
	runtime.KeepAlive(js)
	if rc != C.KPIPE_OK {
		return nil, takeError(e)
	}
	return takeBuf(b), nil
}

// DecodeAvro decodes an Avro body (no header) with schema into natural JSON.
func DecodeAvro(schema string, body []byte) (json.RawMessage, error) {
	var b C.kpipe_buf
	var e *C.kpipe_error
	rc := C.kpipe_avro_decode(strPtr(schema), C.size_t(len(schema)), bytesPtr(body), C.size_t(len(body)), &b, &e)
	runtime.KeepAlive(schema)
	runtime.KeepAlive(body)
	if rc != C.KPIPE_OK {
		return nil, takeError(e)
	}
	return takeBuf(b), nil
}
