package redkeep

import (
	"encoding"
	"fmt"
	"strconv"
)

// appendArg appends the Redis encoding of one command argument.
func appendArg(buf []byte, a any) ([]byte, error) {
	switch v := a.(type) {
	case string:
		return append(buf, v...), nil
	case []byte:
		return append(buf, v...), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case uint:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(buf, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(buf, v, 10), nil
	case float32:
		return strconv.AppendFloat(buf, float64(v), 'f', -1, 32), nil
	case float64:
		return strconv.AppendFloat(buf, v, 'f', -1, 64), nil
	case bool:
		if v {
			return append(buf, '1'), nil
		}
		return append(buf, '0'), nil
	case encoding.BinaryMarshaler:
		b, err := v.MarshalBinary()
		if err != nil {
			return buf, err
		}
		return append(buf, b...), nil
	case nil:
		return buf, fmt.Errorf("nil is not a Redis argument")
	default:
		return buf, fmt.Errorf("unsupported type %T (use string, []byte, a number, bool or an encoding.BinaryMarshaler)", a)
	}
}
