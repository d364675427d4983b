package redkeep

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cmder is one command and, once run, its result: the go-redis interface
// that Pipeline.Exec returns and Process takes.
type Cmder interface {
	// Name is the command's name in lower case ("get").
	Name() string
	// FullName is the name with its subcommand ("client setname").
	FullName() string
	// Args are the command's arguments, its name first.
	Args() []any
	// Err is the command's error: Nil for a nil reply, a *ServerError for
	// an error reply, or what stopped it from running.
	Err() error
	// SetErr sets the command's error.
	SetErr(err error)
	// String shows the command and its result.
	String() string

	readReply(v any) error
}

// baseCmd is what every command result has: its arguments and error.
type baseCmd struct {
	args []any
	err  error
}

func (c *baseCmd) Name() string {
	if len(c.args) == 0 {
		return ""
	}
	return strings.ToLower(fmt.Sprint(c.args[0]))
}

func (c *baseCmd) FullName() string {
	name := c.Name()
	if len(c.args) > 1 {
		switch name {
		case "client", "config", "cluster", "command", "function", "memory", "object", "script", "xgroup", "xinfo":
			return name + " " + strings.ToLower(fmt.Sprint(c.args[1]))
		}
	}
	return name
}

func (c *baseCmd) Args() []any      { return c.args }
func (c *baseCmd) Err() error       { return c.err }
func (c *baseCmd) SetErr(err error) { c.err = err }

func (c *baseCmd) describe(val any) string {
	var b strings.Builder
	for i, a := range c.args {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, a)
	}
	if c.err != nil {
		return b.String() + ": " + c.err.Error()
	}
	return fmt.Sprintf("%s: %v", b.String(), val)
}

// errUnexpected is the error of a reply whose type does not fit the command.
func errUnexpected(v any, want string) error {
	return &Error{Status: StatusResponse, Message: fmt.Sprintf("unexpected reply %T for %s", v, want)}
}

// Cmd is the result of a command with no fixed reply type (Eval, Do in a
// pipeline): the reply as Pool.Do returns it, with typed accessors.
type Cmd struct {
	baseCmd
	val any
}

// NewCmd builds a Cmd for args (the name first), not yet run.
func NewCmd(ctx context.Context, args ...any) *Cmd { return &Cmd{baseCmd: baseCmd{args: args}} }

func (c *Cmd) readReply(v any) error { c.val = v; return nil }

// Val is the reply (nil on error).
func (c *Cmd) Val() any { return c.val }

// Result is the reply and the error.
func (c *Cmd) Result() (any, error) { return c.val, c.err }

// Text is the reply as a string.
func (c *Cmd) Text() (string, error) { return String(c.val, c.err) }

// Int is the reply as an int.
func (c *Cmd) Int() (int, error) { return Int(c.val, c.err) }

// Int64 is the reply as an int64.
func (c *Cmd) Int64() (int64, error) { return Int64(c.val, c.err) }

// Uint64 is the reply as a uint64.
func (c *Cmd) Uint64() (uint64, error) {
	n, err := Int64(c.val, c.err)
	return uint64(n), err
}

// Float64 is the reply as a float64.
func (c *Cmd) Float64() (float64, error) { return Float64(c.val, c.err) }

// Bool is the reply as a bool.
func (c *Cmd) Bool() (bool, error) { return Bool(c.val, c.err) }

// Slice is the reply as a []any.
func (c *Cmd) Slice() ([]any, error) { return Values(c.val, c.err) }

// StringSlice is the reply as a []string.
func (c *Cmd) StringSlice() ([]string, error) { return Strings(c.val, c.err) }

// Int64Slice is the reply as a []int64.
func (c *Cmd) Int64Slice() ([]int64, error) { return Int64s(c.val, c.err) }

func (c *Cmd) String() string { return c.describe(c.val) }

// StatusCmd is the result of a command that replies with a status ("OK").
type StatusCmd struct {
	baseCmd
	val string
}

// NewStatusCmd builds a StatusCmd for args, not yet run.
func NewStatusCmd(ctx context.Context, args ...any) *StatusCmd {
	return &StatusCmd{baseCmd: baseCmd{args: args}}
}

func (c *StatusCmd) readReply(v any) (err error) { c.val, err = String(v, nil); return }

// Val is the status ("OK").
func (c *StatusCmd) Val() string { return c.val }

// Result is the status and the error.
func (c *StatusCmd) Result() (string, error) { return c.val, c.err }
func (c *StatusCmd) String() string          { return c.describe(c.val) }

// StringCmd is the result of a command that replies with a string.
type StringCmd struct {
	baseCmd
	val string
}

// NewStringCmd builds a StringCmd for args, not yet run.
func NewStringCmd(ctx context.Context, args ...any) *StringCmd {
	return &StringCmd{baseCmd: baseCmd{args: args}}
}

func (c *StringCmd) readReply(v any) (err error) { c.val, err = String(v, nil); return }

// Val is the string ("" on error or a nil reply).
func (c *StringCmd) Val() string { return c.val }

// Result is the string and the error (Nil when the key does not exist).
func (c *StringCmd) Result() (string, error) { return c.val, c.err }

// Bytes is the string as bytes.
func (c *StringCmd) Bytes() ([]byte, error) { return []byte(c.val), c.err }

// Int is the string parsed as an int.
func (c *StringCmd) Int() (int, error) { return Int(c.val, c.err) }

// Int64 is the string parsed as an int64.
func (c *StringCmd) Int64() (int64, error) { return Int64(c.val, c.err) }

// Uint64 is the string parsed as a uint64.
func (c *StringCmd) Uint64() (uint64, error) {
	if c.err != nil {
		return 0, c.err
	}
	return strconv.ParseUint(c.val, 10, 64)
}

// Float64 is the string parsed as a float64.
func (c *StringCmd) Float64() (float64, error) { return Float64(c.val, c.err) }

// Bool is the string parsed as a bool ("1", "true", ...).
func (c *StringCmd) Bool() (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	return strconv.ParseBool(c.val)
}

// Time is the string parsed as an RFC 3339 time.
func (c *StringCmd) Time() (time.Time, error) {
	if c.err != nil {
		return time.Time{}, c.err
	}
	return time.Parse(time.RFC3339Nano, c.val)
}

// Scan parses the string into dst (a pointer to a string, []byte, number
// or bool, or an encoding.BinaryUnmarshaler).
func (c *StringCmd) Scan(dst any) error {
	if c.err != nil {
		return c.err
	}
	return scanString(c.val, dst)
}

func (c *StringCmd) String() string { return c.describe(c.val) }

// IntCmd is the result of a command that replies with an integer.
type IntCmd struct {
	baseCmd
	val int64
}

// NewIntCmd builds an IntCmd for args, not yet run.
func NewIntCmd(ctx context.Context, args ...any) *IntCmd {
	return &IntCmd{baseCmd: baseCmd{args: args}}
}

func (c *IntCmd) readReply(v any) (err error) { c.val, err = Int64(v, nil); return }

// Val is the integer.
func (c *IntCmd) Val() int64 { return c.val }

// Result is the integer and the error.
func (c *IntCmd) Result() (int64, error) { return c.val, c.err }

// Uint64 is the integer as a uint64.
func (c *IntCmd) Uint64() (uint64, error) { return uint64(c.val), c.err }
func (c *IntCmd) String() string          { return c.describe(c.val) }

// BoolCmd is the result of a command that replies with 1/0 (or OK/nil).
type BoolCmd struct {
	baseCmd
	val bool
}

// NewBoolCmd builds a BoolCmd for args, not yet run.
func NewBoolCmd(ctx context.Context, args ...any) *BoolCmd {
	return &BoolCmd{baseCmd: baseCmd{args: args}}
}

func (c *BoolCmd) readReply(v any) (err error) {
	if s, ok := v.(string); ok { // SET ... NX replies OK
		c.val = s == "OK"
		return nil
	}
	c.val, err = Bool(v, nil)
	return
}

// Val is the boolean.
func (c *BoolCmd) Val() bool { return c.val }

// Result is the boolean and the error.
func (c *BoolCmd) Result() (bool, error) { return c.val, c.err }
func (c *BoolCmd) String() string        { return c.describe(c.val) }

// FloatCmd is the result of a command that replies with a number as text.
type FloatCmd struct {
	baseCmd
	val float64
}

// NewFloatCmd builds a FloatCmd for args, not yet run.
func NewFloatCmd(ctx context.Context, args ...any) *FloatCmd {
	return &FloatCmd{baseCmd: baseCmd{args: args}}
}

func (c *FloatCmd) readReply(v any) (err error) { c.val, err = Float64(v, nil); return }

// Val is the number.
func (c *FloatCmd) Val() float64 { return c.val }

// Result is the number and the error.
func (c *FloatCmd) Result() (float64, error) { return c.val, c.err }
func (c *FloatCmd) String() string           { return c.describe(c.val) }

// DurationCmd is the result of TTL, PTTL and the like: -1 (no expiry) and
// -2 (no key) are kept as those numbers of nanoseconds, as go-redis does.
type DurationCmd struct {
	baseCmd
	val       time.Duration
	precision time.Duration
}

// NewDurationCmd builds a DurationCmd for args whose reply counts
// precision units (time.Second for TTL, time.Millisecond for PTTL).
func NewDurationCmd(ctx context.Context, precision time.Duration, args ...any) *DurationCmd {
	return &DurationCmd{baseCmd: baseCmd{args: args}, precision: precision}
}

func (c *DurationCmd) readReply(v any) error {
	n, err := Int64(v, nil)
	if err != nil {
		return err
	}
	switch n {
	case -1, -2:
		c.val = time.Duration(n)
	default:
		c.val = time.Duration(n) * c.precision
	}
	return nil
}

// Val is the duration.
func (c *DurationCmd) Val() time.Duration { return c.val }

// Result is the duration and the error.
func (c *DurationCmd) Result() (time.Duration, error) { return c.val, c.err }
func (c *DurationCmd) String() string                 { return c.describe(c.val) }

// SliceCmd is the result of a command that replies with an array of
// possibly nil values (MGET, HMGET).
type SliceCmd struct {
	baseCmd
	val []any
}

// NewSliceCmd builds a SliceCmd for args, not yet run.
func NewSliceCmd(ctx context.Context, args ...any) *SliceCmd {
	return &SliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *SliceCmd) readReply(v any) (err error) { c.val, err = Values(v, nil); return }

// Val is the array (nil elements for missing keys).
func (c *SliceCmd) Val() []any { return c.val }

// Result is the array and the error.
func (c *SliceCmd) Result() ([]any, error) { return c.val, c.err }
func (c *SliceCmd) String() string         { return c.describe(c.val) }

// StringSliceCmd is the result of a command that replies with strings.
type StringSliceCmd struct {
	baseCmd
	val []string
}

// NewStringSliceCmd builds a StringSliceCmd for args, not yet run.
func NewStringSliceCmd(ctx context.Context, args ...any) *StringSliceCmd {
	return &StringSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *StringSliceCmd) readReply(v any) (err error) { c.val, err = Strings(v, nil); return }

// Val is the strings.
func (c *StringSliceCmd) Val() []string { return c.val }

// Result is the strings and the error.
func (c *StringSliceCmd) Result() ([]string, error) { return c.val, c.err }
func (c *StringSliceCmd) String() string            { return c.describe(c.val) }

// IntSliceCmd is the result of a command that replies with integers.
type IntSliceCmd struct {
	baseCmd
	val []int64
}

// NewIntSliceCmd builds an IntSliceCmd for args, not yet run.
func NewIntSliceCmd(ctx context.Context, args ...any) *IntSliceCmd {
	return &IntSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *IntSliceCmd) readReply(v any) (err error) { c.val, err = Int64s(v, nil); return }

// Val is the integers.
func (c *IntSliceCmd) Val() []int64 { return c.val }

// Result is the integers and the error.
func (c *IntSliceCmd) Result() ([]int64, error) { return c.val, c.err }
func (c *IntSliceCmd) String() string           { return c.describe(c.val) }

// BoolSliceCmd is the result of a command that replies with 1/0 values.
type BoolSliceCmd struct {
	baseCmd
	val []bool
}

// NewBoolSliceCmd builds a BoolSliceCmd for args, not yet run.
func NewBoolSliceCmd(ctx context.Context, args ...any) *BoolSliceCmd {
	return &BoolSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *BoolSliceCmd) readReply(v any) error {
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	c.val = make([]bool, len(vs))
	for i, e := range vs {
		if c.val[i], err = Bool(e, nil); err != nil {
			return err
		}
	}
	return nil
}

// Val is the booleans.
func (c *BoolSliceCmd) Val() []bool { return c.val }

// Result is the booleans and the error.
func (c *BoolSliceCmd) Result() ([]bool, error) { return c.val, c.err }
func (c *BoolSliceCmd) String() string          { return c.describe(c.val) }

// FloatSliceCmd is the result of a command that replies with numbers (a
// nil element reads as 0, as in go-redis).
type FloatSliceCmd struct {
	baseCmd
	val []float64
}

// NewFloatSliceCmd builds a FloatSliceCmd for args, not yet run.
func NewFloatSliceCmd(ctx context.Context, args ...any) *FloatSliceCmd {
	return &FloatSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *FloatSliceCmd) readReply(v any) error {
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	c.val = make([]float64, len(vs))
	for i, e := range vs {
		if e == nil {
			continue
		}
		if c.val[i], err = Float64(e, nil); err != nil {
			return err
		}
	}
	return nil
}

// Val is the numbers.
func (c *FloatSliceCmd) Val() []float64 { return c.val }

// Result is the numbers and the error.
func (c *FloatSliceCmd) Result() ([]float64, error) { return c.val, c.err }
func (c *FloatSliceCmd) String() string             { return c.describe(c.val) }

// MapStringStringCmd is the result of HGETALL and the like.
type MapStringStringCmd struct {
	baseCmd
	val map[string]string
}

// NewMapStringStringCmd builds a MapStringStringCmd for args, not yet run.
func NewMapStringStringCmd(ctx context.Context, args ...any) *MapStringStringCmd {
	return &MapStringStringCmd{baseCmd: baseCmd{args: args}}
}

func (c *MapStringStringCmd) readReply(v any) (err error) { c.val, err = StringMap(v, nil); return }

// Val is the map.
func (c *MapStringStringCmd) Val() map[string]string { return c.val }

// Result is the map and the error.
func (c *MapStringStringCmd) Result() (map[string]string, error) { return c.val, c.err }
func (c *MapStringStringCmd) String() string                     { return c.describe(c.val) }

// StringStructMapCmd is the result of SMembersMap: the members as a set.
type StringStructMapCmd struct {
	baseCmd
	val map[string]struct{}
}

// NewStringStructMapCmd builds a StringStructMapCmd for args, not yet run.
func NewStringStructMapCmd(ctx context.Context, args ...any) *StringStructMapCmd {
	return &StringStructMapCmd{baseCmd: baseCmd{args: args}}
}

func (c *StringStructMapCmd) readReply(v any) error {
	ss, err := Strings(v, nil)
	if err != nil {
		return err
	}
	c.val = make(map[string]struct{}, len(ss))
	for _, s := range ss {
		c.val[s] = struct{}{}
	}
	return nil
}

// Val is the set.
func (c *StringStructMapCmd) Val() map[string]struct{} { return c.val }

// Result is the set and the error.
func (c *StringStructMapCmd) Result() (map[string]struct{}, error) { return c.val, c.err }
func (c *StringStructMapCmd) String() string                       { return c.describe(c.val) }

// KeyValuesCmd is the result of LMPOP and BLMPOP: the key and its values.
type KeyValuesCmd struct {
	baseCmd
	key string
	val []string
}

// NewKeyValuesCmd builds a KeyValuesCmd for args, not yet run.
func NewKeyValuesCmd(ctx context.Context, args ...any) *KeyValuesCmd {
	return &KeyValuesCmd{baseCmd: baseCmd{args: args}}
}

func (c *KeyValuesCmd) readReply(v any) error {
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	if len(vs) != 2 {
		return errUnexpected(v, c.Name())
	}
	if c.key, err = String(vs[0], nil); err != nil {
		return err
	}
	c.val, err = Strings(vs[1], nil)
	return err
}

// Val is the key and its values.
func (c *KeyValuesCmd) Val() (string, []string) { return c.key, c.val }

// Result is the key, its values and the error.
func (c *KeyValuesCmd) Result() (string, []string, error) { return c.key, c.val, c.err }
func (c *KeyValuesCmd) String() string                    { return c.describe(c.val) }

// ScanCmd is the result of SCAN, SSCAN, HSCAN and ZSCAN: a page of keys
// (or members) and the cursor for the next page (0 when done).
type ScanCmd struct {
	baseCmd
	page   []string
	cursor uint64
}

// NewScanCmd builds a ScanCmd for args, not yet run.
func NewScanCmd(ctx context.Context, args ...any) *ScanCmd {
	return &ScanCmd{baseCmd: baseCmd{args: args}}
}

func (c *ScanCmd) readReply(v any) error {
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	if len(vs) != 2 {
		return errUnexpected(v, c.Name())
	}
	cur, err := String(vs[0], nil)
	if err != nil {
		return err
	}
	if c.cursor, err = strconv.ParseUint(cur, 10, 64); err != nil {
		return err
	}
	c.page, err = Strings(vs[1], nil)
	return err
}

// Val is the page and the next cursor.
func (c *ScanCmd) Val() (keys []string, cursor uint64) { return c.page, c.cursor }

// Result is the page, the next cursor and the error.
func (c *ScanCmd) Result() (keys []string, cursor uint64, err error) {
	return c.page, c.cursor, c.err
}
func (c *ScanCmd) String() string { return c.describe(c.page) }
