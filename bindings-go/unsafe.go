package kpipe

/*
#include "kpipe.h"
*/
import "C"

import "unsafe"

// unsafeBytes views n bytes of C memory without copying (valid while the C memory is).
func unsafeBytes(p *C.uint8_t, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// goBytesNonNil copies n bytes (an empty, non-nil slice for a present but empty field).
func goBytesNonNil(p *C.uint8_t, n C.size_t) []byte {
	out := make([]byte, int(n))
	copy(out, unsafeBytes(p, n))
	return out
}

func unsafeSlice(p *C.kpipe_header, n int) []C.kpipe_header {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice(p, n)
}
