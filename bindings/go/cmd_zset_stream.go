package redkeep

import "context"

// Z is a sorted-set member and its score (go-redis's Z).
type Z struct {
	// Score orders the member.
	Score float64
	// Member is the member (a string, []byte or number).
	Member any
}

// ZWithKey is a member popped by BZPOPMIN/BZPOPMAX, with its key.
type ZWithKey struct {
	Z
	// Key is the sorted set it came from.
	Key string
}

// ZSliceCmd is the result of a sorted-set command WITHSCORES.
type ZSliceCmd struct {
	baseCmd
	val []Z
}

// NewZSliceCmd builds a ZSliceCmd for args, not yet run.
func NewZSliceCmd(ctx context.Context, args ...any) *ZSliceCmd {
	return &ZSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *ZSliceCmd) readReply(v any) error {
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	c.val = make([]Z, 0, len(vs)/2)
	if len(vs) > 0 {
		if _, nested := vs[0].([]any); nested { // RESP3: [[member, score], ...]
			for _, e := range vs {
				pair, _ := e.([]any)
				if len(pair) != 2 {
					return errUnexpected(v, c.Name())
				}
				z, err := readZ(pair[0], pair[1])
				if err != nil {
					return err
				}
				c.val = append(c.val, z)
			}
			return nil
		}
	}
	if len(vs)%2 != 0 {
		return errUnexpected(v, c.Name())
	}
	for i := 0; i < len(vs); i += 2 {
		z, err := readZ(vs[i], vs[i+1])
		if err != nil {
			return err
		}
		c.val = append(c.val, z)
	}
	return nil
}

func readZ(member, score any) (Z, error) {
	m, err := String(member, nil)
	if err != nil {
		return Z{}, err
	}
	s, err := Float64(score, nil)
	if err != nil {
		return Z{}, err
	}
	return Z{Member: m, Score: s}, nil
}

// Val is the members with their scores.
func (c *ZSliceCmd) Val() []Z { return c.val }

// Result is the members with their scores, and the error.
func (c *ZSliceCmd) Result() ([]Z, error) { return c.val, c.err }
func (c *ZSliceCmd) String() string       { return c.describe(c.val) }

// ZWithKeyCmd is the result of BZPOPMIN and BZPOPMAX (Nil on timeout).
type ZWithKeyCmd struct {
	baseCmd
	val ZWithKey
}

// NewZWithKeyCmd builds a ZWithKeyCmd for args, not yet run.
func NewZWithKeyCmd(ctx context.Context, args ...any) *ZWithKeyCmd {
	return &ZWithKeyCmd{baseCmd: baseCmd{args: args}}
}

func (c *ZWithKeyCmd) readReply(v any) error {
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	if len(vs) != 3 {
		return errUnexpected(v, c.Name())
	}
	if c.val.Key, err = String(vs[0], nil); err != nil {
		return err
	}
	c.val.Z, err = readZ(vs[1], vs[2])
	return err
}

// Val is the popped member, its score and key.
func (c *ZWithKeyCmd) Val() *ZWithKey { return &c.val }

// Result is the popped member, its score and key, and the error.
func (c *ZWithKeyCmd) Result() (*ZWithKey, error) { return &c.val, c.err }
func (c *ZWithKeyCmd) String() string             { return c.describe(c.val) }

// ZRangeBy bounds ZRangeByScore and ZRangeByLex (go-redis's ZRangeBy):
// Min and Max as Redis takes them ("-inf", "(1", "[a"), and an optional
// LIMIT Offset Count.
type ZRangeBy struct {
	// Min and Max bound the range.
	Min, Max string
	// Offset and Count add LIMIT when either is set.
	Offset, Count int64
}

// ZStore names the keys (and optional weights and aggregate) of ZUnion,
// ZInter and their Store forms.
type ZStore struct {
	// Keys are the sorted sets to combine.
	Keys []string
	// Weights multiply each set's scores (optional).
	Weights []float64
	// Aggregate is SUM, MIN or MAX (optional).
	Aggregate string
}

// XMessage is one stream entry: its ID and fields.
type XMessage struct {
	// ID is the entry's ID ("1526919030474-55").
	ID string
	// Values are the entry's fields.
	Values map[string]any
}

// XStream is the entries read from one stream.
type XStream struct {
	// Stream is the stream's key.
	Stream string
	// Messages are the entries read.
	Messages []XMessage
}

// XMessageSliceCmd is the result of XRANGE and XREVRANGE.
type XMessageSliceCmd struct {
	baseCmd
	val []XMessage
}

// NewXMessageSliceCmd builds an XMessageSliceCmd for args, not yet run.
func NewXMessageSliceCmd(ctx context.Context, args ...any) *XMessageSliceCmd {
	return &XMessageSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *XMessageSliceCmd) readReply(v any) (err error) {
	c.val, err = readXMessages(v)
	return
}

func readXMessages(v any) ([]XMessage, error) {
	vs, err := Values(v, nil)
	if err != nil {
		return nil, err
	}
	out := make([]XMessage, 0, len(vs))
	for _, e := range vs {
		entry, ok := e.([]any)
		if !ok || len(entry) != 2 {
			return nil, errUnexpected(e, "a stream entry")
		}
		id, err := String(entry[0], nil)
		if err != nil {
			return nil, err
		}
		msg := XMessage{ID: id}
		if entry[1] != nil { // a deleted entry still pending has no fields
			fields, err := StringMap(entry[1], nil)
			if err != nil {
				return nil, err
			}
			msg.Values = make(map[string]any, len(fields))
			for k, f := range fields {
				msg.Values[k] = f
			}
		}
		out = append(out, msg)
	}
	return out, nil
}

// Val is the entries.
func (c *XMessageSliceCmd) Val() []XMessage { return c.val }

// Result is the entries and the error.
func (c *XMessageSliceCmd) Result() ([]XMessage, error) { return c.val, c.err }
func (c *XMessageSliceCmd) String() string              { return c.describe(c.val) }

// XStreamSliceCmd is the result of XREAD and XREADGROUP (Nil when a BLOCK
// read timed out).
type XStreamSliceCmd struct {
	baseCmd
	val []XStream
}

// NewXStreamSliceCmd builds an XStreamSliceCmd for args, not yet run.
func NewXStreamSliceCmd(ctx context.Context, args ...any) *XStreamSliceCmd {
	return &XStreamSliceCmd{baseCmd: baseCmd{args: args}}
}

func (c *XStreamSliceCmd) readReply(v any) error {
	add := func(name, msgs any) error {
		stream, err := String(name, nil)
		if err != nil {
			return err
		}
		ms, err := readXMessages(msgs)
		if err != nil {
			return err
		}
		c.val = append(c.val, XStream{Stream: stream, Messages: ms})
		return nil
	}
	if m, ok := v.(map[any]any); ok { // RESP3
		for k, msgs := range m {
			if err := add(k, msgs); err != nil {
				return err
			}
		}
		return nil
	}
	vs, err := Values(v, nil)
	if err != nil {
		return err
	}
	for _, e := range vs {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return errUnexpected(e, c.Name())
		}
		if err := add(pair[0], pair[1]); err != nil {
			return err
		}
	}
	return nil
}

// Val is the entries read, by stream.
func (c *XStreamSliceCmd) Val() []XStream { return c.val }

// Result is the entries read, by stream, and the error.
func (c *XStreamSliceCmd) Result() ([]XStream, error) { return c.val, c.err }
func (c *XStreamSliceCmd) String() string             { return c.describe(c.val) }
