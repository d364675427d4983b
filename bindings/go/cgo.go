//go:build cgo

package redkeep

// How cgo finds the library: scripts/build-go-lib.sh builds the Rust crate
// redkeep-c in release mode and copies libredkeep.a and its header (as
// libredkeep.h) next to this file, where `go mod vendor` keeps them too.
// redkeep.h, committed here, includes that header, and when the library is
// missing turns the build's first error into the command to run. The
// static library is linked into the Go binary, which then needs no shared
// library at run time.

/*
#cgo CFLAGS: -I${SRCDIR}
#cgo LDFLAGS: ${SRCDIR}/libredkeep.a -lpthread -ldl -lm
#include <stdlib.h>
#include "redkeep.h"
*/
import "C"

import "unsafe"

// The library words its messages for Go: a setting is named as this
// package's field (ServerOptions.Binary), not as the C struct's. The C ABI
// keeps the language per process (redkeep_set_language); this package sets
// it once, before any other call into the library.
func init() {
	C.redkeep_set_language(C.REDKEEP_LANGUAGE_GO)
}

// Version is the version of the linked redkeep library ("0.1.0").
func Version() string {
	return C.GoString(C.redkeep_version())
}

// noopCall makes one trivial call into the library; the benchmarks use it
// to measure the cost of crossing cgo.
func noopCall() {
	C.redkeep_status_name(0)
}

// takeError converts and frees an owned redkeep_error.
func takeError(status C.redkeep_status, cerr *C.redkeep_error) error {
	if status == C.REDKEEP_OK {
		if cerr != nil {
			C.redkeep_error_free(cerr)
		}
		return nil
	}
	e := &Error{Status: Status(status), Message: C.GoString(C.redkeep_status_name(C.uint32_t(status)))}
	if cerr != nil {
		e.Message = C.GoString(C.redkeep_error_message(cerr))
		e.Phase = Phase(C.redkeep_error_phase(cerr))
		C.redkeep_error_free(cerr)
	}
	if e.Status == StatusResponse {
		return &ServerError{Message: e.Message}
	}
	return e
}

// cString allocates a C copy of s; "" gives NULL. Free with freeCString.
func cString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeCString(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}
