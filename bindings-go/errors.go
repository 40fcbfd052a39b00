package kpipe

/*
#include "kpipe.h"
*/
import "C"

import (
	"encoding/json"
	"strings"
	"unsafe"
)

// Error is a kpipe failure: a stable Code shared by every binding (docs/errors.md) and the
// core's message, unchanged. Compare with errors.Is against the sentinels:
//
//	if errors.Is(err, kpipe.ErrSchemaIncompatible) { ... }
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Retriable: the same call may succeed later unchanged (registry down, Kafka timeouts).
	Retriable bool `json:"retriable"`
	// Fatal: the handle that returned it cannot be used any more (decided by the core).
	Fatal bool `json:"fatal"`
	// Where known (docs/errors.md, "Details"); empty or nil otherwise.
	Field     string  `json:"field,omitempty"` // config key or value field path
	Cluster   string  `json:"cluster,omitempty"`
	Topic     string  `json:"topic,omitempty"`
	Partition *int32  `json:"partition,omitempty"`
	Offset    *int64  `json:"offset,omitempty"`
	Subject   string  `json:"subject,omitempty"`
	SchemaID  *uint32 `json:"schema_id,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches another *Error with the same Code (the sentinels have no message).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels, one per core code, for errors.Is.
var (
	ErrConfigInvalid            = &Error{Code: "config.invalid"}
	ErrRouteNoCluster           = &Error{Code: "route.no_cluster"}
	ErrRegistryUnavailable      = &Error{Code: "registry.unavailable"}
	ErrRegistryNotFound         = &Error{Code: "registry.not_found"}
	ErrRegistryAuth             = &Error{Code: "registry.auth"}
	ErrRegistryRejected         = &Error{Code: "registry.rejected"}
	ErrSchemaInvalid            = &Error{Code: "schema.invalid"}
	ErrSchemaIncompatible       = &Error{Code: "schema.incompatible"}
	ErrSchemaPolicyViolation    = &Error{Code: "schema.policy_violation"}
	ErrSerdeEncode              = &Error{Code: "serde.encode"}
	ErrSerdeDecode              = &Error{Code: "serde.decode"}
	ErrSerdeUnknownSchemaID     = &Error{Code: "serde.unknown_schema_id"}
	ErrSerdeBadMagic            = &Error{Code: "serde.bad_magic"}
	ErrKafkaTimeout             = &Error{Code: "kafka.timeout"}
	ErrKafkaRetriable           = &Error{Code: "kafka.retriable"}
	ErrKafkaFatal               = &Error{Code: "kafka.fatal"}
	ErrKafkaAuth                = &Error{Code: "kafka.auth"}
	ErrOffsetsGroupActive       = &Error{Code: "offsets.group_active"}
	ErrOffsetsOutOfRange        = &Error{Code: "offsets.out_of_range"}
	ErrOffsetsPartitionMismatch = &Error{Code: "offsets.partition_mismatch"}
	ErrOffsetsNoCheckpoint      = &Error{Code: "offsets.no_checkpoint"}
	ErrTopicNotFound            = &Error{Code: "topic.not_found"}
	ErrInputInvalid             = &Error{Code: "input.invalid"}
	ErrClosed                   = &Error{Code: "closed"}
	ErrHandlerFailed            = &Error{Code: "handler.failed"}
	ErrProcessForked            = &Error{Code: "process.forked"}
	ErrInternal                 = &Error{Code: "internal"}
)

// Sentinels lists every sentinel, in docs/errors.md order.
var Sentinels = []*Error{
	ErrConfigInvalid, ErrRouteNoCluster, ErrRegistryUnavailable, ErrRegistryNotFound, ErrRegistryAuth,
	ErrRegistryRejected, ErrSchemaInvalid, ErrSchemaIncompatible, ErrSchemaPolicyViolation, ErrSerdeEncode,
	ErrSerdeDecode, ErrSerdeUnknownSchemaID, ErrSerdeBadMagic, ErrKafkaTimeout, ErrKafkaRetriable,
	ErrKafkaFatal, ErrKafkaAuth, ErrOffsetsGroupActive, ErrOffsetsOutOfRange, ErrOffsetsPartitionMismatch,
	ErrOffsetsNoCheckpoint, ErrTopicNotFound, ErrInputInvalid, ErrClosed, ErrHandlerFailed,
	ErrProcessForked, ErrInternal,
}

// CoreCodes are the codes the linked core can return (for checking Sentinels is complete).
func CoreCodes() []string {
	var b C.kpipe_buf
	C.kpipe_error_codes(&b)
	return strings.Split(string(takeBuf(b)), "\n")
}

// takeError converts and frees a C error (nil stays nil).
func takeError(e *C.kpipe_error) error {
	if e == nil {
		return nil
	}
	defer C.kpipe_error_free(e)
	return borrowError(e)
}

// borrowError converts a C error it does not own: the core's details record, as JSON.
func borrowError(e *C.kpipe_error) *Error {
	var n C.size_t
	js := C.kpipe_error_details_json(e, &n)
	var out Error
	if err := json.Unmarshal(C.GoBytes(unsafe.Pointer(js), C.int(n)), &out); err != nil || out.Code == "" {
		// not expected: the core writes the record; keep what the plain accessors give
		msg := C.kpipe_error_message(e, &n)
		return &Error{
			Code:      C.GoString(C.kpipe_error_code(e)),
			Message:   C.GoStringN(msg, C.int(n)),
			Retriable: C.kpipe_error_is_retriable(e) != 0,
			Fatal:     C.kpipe_error_is_fatal(e) != 0,
		}
	}
	return &out
}

var _ = unsafe.Pointer(nil)

// closedErr is the core's closed error, for handles the Go side already released (same text
// as the core's).
func closedErr(what string) error {
	return &Error{Code: "closed", Message: what + " is closed", Fatal: true}
}
