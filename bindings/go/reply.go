package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"fmt"
	"math/big"
	"unsafe"
)

// convertReply turns a reply tree into Go values (see Pool.Do).
func convertReply(r *C.redkeep_reply) any {
	switch C.redkeep_reply_get_kind(r) {
	case C.REDKEEP_REPLY_NIL:
		return nil
	case C.REDKEEP_REPLY_INTEGER:
		return int64(C.redkeep_reply_integer(r))
	case C.REDKEEP_REPLY_DOUBLE:
		return float64(C.redkeep_reply_double(r))
	case C.REDKEEP_REPLY_BOOL:
		return bool(C.redkeep_reply_bool(r))
	case C.REDKEEP_REPLY_STRING, C.REDKEEP_REPLY_STATUS:
		return replyString(r)
	case C.REDKEEP_REPLY_ERROR:
		return &ServerError{Message: replyString(r)}
	case C.REDKEEP_REPLY_BIG_NUMBER:
		s := replyString(r)
		if n, ok := new(big.Int).SetString(s, 10); ok {
			return n
		}
		return s
	case C.REDKEEP_REPLY_ARRAY, C.REDKEEP_REPLY_SET:
		n := int(C.redkeep_reply_len(r))
		out := make([]any, n)
		for i := range out {
			out[i] = convertReply(C.redkeep_reply_element(r, C.size_t(i)))
		}
		return out
	case C.REDKEEP_REPLY_MAP:
		n := int(C.redkeep_reply_len(r))
		out := make(map[any]any, n)
		for i := 0; i < n; i++ {
			k := convertReply(C.redkeep_reply_map_key(r, C.size_t(i)))
			switch k.(type) {
			case nil, string, int64, float64, bool:
			default:
				k = fmt.Sprint(k) // keys must be comparable
			}
			out[k] = convertReply(C.redkeep_reply_map_value(r, C.size_t(i)))
		}
		return out
	default:
		return nil
	}
}

func replyString(r *C.redkeep_reply) string {
	var n C.size_t
	s := C.redkeep_reply_string(r, &n)
	if s == nil {
		return ""
	}
	return C.GoStringN((*C.char)(unsafe.Pointer(s)), C.int(n))
}
