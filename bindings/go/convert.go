package redkeep

import (
	"encoding"
	"fmt"
	"math/big"
	"strconv"
)

// Reply converters in the style of redigo's: each takes what Pool.Do
// returns and converts the reply, passing an error through.
//
//	n, err := redkeep.Int64(pool.Do(ctx, "INCR", "visits"))
//	names, err := redkeep.Strings(pool.Do(ctx, "SMEMBERS", "users"))
//
// A nil reply gives Nil; an error reply inside an array (*ServerError)
// is returned as the error; a reply of another type gives an error naming
// both types.

// String converts a string, status, integer or number reply to a string.
func String(reply any, err error) (string, error) {
	if err != nil {
		return "", err
	}
	switch v := reply.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		if v {
			return "1", nil
		}
		return "0", nil
	case *big.Int:
		return v.String(), nil
	}
	return "", replyError(reply, "string")
}

// Bytes converts a string reply to a []byte.
func Bytes(reply any, err error) ([]byte, error) {
	if b, ok := reply.([]byte); ok && err == nil {
		return b, nil
	}
	s, err := String(reply, err)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// Int64 converts an integer reply, or a string holding one, to an int64.
func Int64(reply any, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	switch v := reply.(type) {
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	case []byte:
		return strconv.ParseInt(string(v), 10, 64)
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, replyError(reply, "int64")
}

// Int converts an integer reply, or a string holding one, to an int.
func Int(reply any, err error) (int, error) {
	n, err := Int64(reply, err)
	return int(n), err
}

// Float64 converts a number reply (RESP3 double, integer, or a string
// holding one) to a float64.
func Float64(reply any, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	switch v := reply.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case string:
		return strconv.ParseFloat(v, 64)
	case []byte:
		return strconv.ParseFloat(string(v), 64)
	}
	return 0, replyError(reply, "float64")
}

// Bool converts an integer (non-zero is true), boolean or "1"/"0" reply to
// a bool.
func Bool(reply any, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	switch v := reply.(type) {
	case bool:
		return v, nil
	case int64:
		return v != 0, nil
	case string:
		return strconv.ParseBool(v)
	case []byte:
		return strconv.ParseBool(string(v))
	}
	return false, replyError(reply, "bool")
}

// Values converts an array (or set) reply to a []any.
func Values(reply any, err error) ([]any, error) {
	if err != nil {
		return nil, err
	}
	switch v := reply.(type) {
	case []any:
		return v, nil
	case nil:
		return nil, Nil
	case *ServerError:
		return nil, v
	}
	return nil, replyError(reply, "[]any")
}

// Strings converts an array reply to a []string (a nil element becomes "").
func Strings(reply any, err error) ([]string, error) {
	vs, err := Values(reply, err)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		if v == nil {
			continue
		}
		if out[i], err = String(v, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Int64s converts an array reply to a []int64.
func Int64s(reply any, err error) ([]int64, error) {
	vs, err := Values(reply, err)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(vs))
	for i, v := range vs {
		if out[i], err = Int64(v, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StringMap converts a map reply (RESP3) or a flat array of field/value
// pairs (RESP2, HGETALL) to a map[string]string.
func StringMap(reply any, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	if m, ok := reply.(map[any]any); ok {
		out := make(map[string]string, len(m))
		for k, v := range m {
			ks, err := String(k, nil)
			if err != nil {
				return nil, err
			}
			if out[ks], err = String(v, nil); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	vs, err := Values(reply, nil)
	if err != nil {
		return nil, err
	}
	if len(vs)%2 != 0 {
		return nil, &Error{Status: StatusResponse, Message: "StringMap needs an even number of elements"}
	}
	out := make(map[string]string, len(vs)/2)
	for i := 0; i < len(vs); i += 2 {
		k, err := String(vs[i], nil)
		if err != nil {
			return nil, err
		}
		if out[k], err = String(vs[i+1], nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replyError is the error for a reply that is not of the wanted type: Nil
// for a nil reply, the server's error for an error reply.
func replyError(reply any, want string) error {
	switch v := reply.(type) {
	case nil:
		return Nil
	case *ServerError:
		return v
	}
	return &Error{Status: StatusResponse, Message: fmt.Sprintf("cannot convert a %T reply to %s", reply, want)}
}

// scanString parses s into dst, as go-redis's StringCmd.Scan.
func scanString(s string, dst any) error {
	var err error
	switch d := dst.(type) {
	case *string:
		*d = s
	case *[]byte:
		*d = []byte(s)
	case *int:
		*d, err = strconv.Atoi(s)
	case *int64:
		*d, err = strconv.ParseInt(s, 10, 64)
	case *int32:
		var n int64
		n, err = strconv.ParseInt(s, 10, 32)
		*d = int32(n)
	case *uint64:
		*d, err = strconv.ParseUint(s, 10, 64)
	case *uint32:
		var n uint64
		n, err = strconv.ParseUint(s, 10, 32)
		*d = uint32(n)
	case *float64:
		*d, err = strconv.ParseFloat(s, 64)
	case *float32:
		var f float64
		f, err = strconv.ParseFloat(s, 32)
		*d = float32(f)
	case *bool:
		*d, err = strconv.ParseBool(s)
	case encoding.BinaryUnmarshaler:
		err = d.UnmarshalBinary([]byte(s))
	default:
		err = fmt.Errorf("redkeep: cannot scan a string into %T", dst)
	}
	return err
}
