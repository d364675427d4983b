package redkeep

// The library's log callback. This file holds the //export alone: cgo
// allows only declarations in the preamble of a file that exports.

/*
#include "redkeep.h"
*/
import "C"

import "unsafe"

//export redkeepGoLog
func redkeepGoLog(userData unsafe.Pointer, record *C.redkeep_log_record) {
	deliver(record)
}
