package kpipe

// The C ABI of kpipe (bindings-c; include/kpipe.h is its header, copied here by cbindgen's
// test so the module builds from the module cache) linked statically:
// `make -C bindings-go` builds lib/libkpipe_capi.a. Outside this folder (a module from the
// module cache) point the linker at a built library with CGO_LDFLAGS=-L<dir>; see README.md.

/*
#cgo CFLAGS: -I${SRCDIR}/include
#cgo LDFLAGS: -L${SRCDIR}/lib -lkpipe_capi -lcurl -lz -lssl -lcrypto -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
#include <stdlib.h>
#include "kpipe.h"
*/
import "C"

import "unsafe"

// bytesPtr is the address of b's first byte (nil for an empty slice), for (pointer, length)
// arguments. The C side never keeps it after the call.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// strPtr is the address of s's bytes (nil when empty); valid for the duration of the call.
func strPtr(s string) *C.uint8_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s)))
}

// goBytes copies n bytes at p (nil when p is nil).
func goBytes(p *C.uint8_t, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

func goString(p *C.uint8_t, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return C.GoStringN((*C.char)(unsafe.Pointer(p)), C.int(n))
}

// takeBuf copies a kpipe_buf and frees it.
func takeBuf(b C.kpipe_buf) []byte {
	out := goBytes(b.ptr, b.len)
	C.kpipe_buf_free(b)
	return out
}

// Version is the version of the linked kpipe core.
func Version() string {
	return C.GoString(C.kpipe_version())
}
