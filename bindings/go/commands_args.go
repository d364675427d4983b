package redkeep

//go:generate go run ./internal/gen

import (
	"strconv"
	"time"
)

// The arguments of the typed commands that the table (internal/gen) cannot
// spell word by word; each argsX builds the arguments of method X.

// KeepTTL as Set's expiration keeps the key's current TTL (SET ... KEEPTTL).
const KeepTTL = -1

// SetArgs are SET's options (go-redis's SetArgs).
type SetArgs struct {
	// Mode is "NX", "XX" or "" (always).
	Mode string
	// TTL sets an expiration (EX or PX); zero means none.
	TTL time.Duration
	// ExpireAt sets the time the key expires (EXAT); zero means none.
	ExpireAt time.Time
	// Get makes SET return the old value (Nil if none).
	Get bool
	// KeepTTL keeps the key's current TTL.
	KeepTTL bool
}

// LPosArgs are LPOS's options.
type LPosArgs struct {
	// Rank skips matches (negative: from the tail).
	Rank int64
	// MaxLen compares at most that many elements (0: all).
	MaxLen int64
}

// XAddArgs are XADD's arguments (go-redis's XAddArgs).
type XAddArgs struct {
	// Stream is the stream's key.
	Stream string
	// NoMkStream fails instead of creating the stream.
	NoMkStream bool
	// MaxLen trims the stream to that many entries (0: no trim).
	MaxLen int64
	// MinID trims entries older than it ("": no trim).
	MinID string
	// Approx trims with "~" (cheaper, approximate).
	Approx bool
	// Limit caps the entries an approximate trim removes.
	Limit int64
	// ID is the entry's ID ("" or "*": the server picks one).
	ID string
	// Values are the fields: pairs in a []any or []string, a
	// map[string]any or a map[string]string.
	Values any
}

// XReadArgs are XREAD's arguments (go-redis's XReadArgs).
type XReadArgs struct {
	// Streams are the streams then their IDs: "s1", "s2", "0", "$".
	Streams []string
	// Count caps the entries per stream (0: no cap).
	Count int64
	// Block waits up to that long for entries (0: forever; negative: do
	// not block). A blocking read runs on a connection of its own.
	Block time.Duration
	// ID, if set, is used for every stream named in Streams.
	ID string
}

// XReadGroupArgs are XREADGROUP's arguments (go-redis's XReadGroupArgs).
type XReadGroupArgs struct {
	// Group and Consumer name the reader.
	Group, Consumer string
	// Streams are the streams then their IDs (">" for new entries).
	Streams []string
	// Count caps the entries per stream (0: no cap).
	Count int64
	// Block waits up to that long (0: forever; negative: do not block).
	Block time.Duration
	// NoAck skips the pending entries list.
	NoAck bool
}

// appendArgs appends values, flattening a lone slice or map as go-redis
// does (MSet, HSet, XAdd's Values).
func appendArgs(dst []any, values []any) []any {
	if len(values) == 1 {
		switch v := values[0].(type) {
		case []any:
			return append(dst, v...)
		case []string:
			for _, s := range v {
				dst = append(dst, s)
			}
			return dst
		case map[string]any:
			for k, e := range v {
				dst = append(dst, k, e)
			}
			return dst
		case map[string]string:
			for k, e := range v {
				dst = append(dst, k, e)
			}
			return dst
		}
	}
	return append(dst, values...)
}

// formatSec is d in whole seconds (at least 1 for a positive d).
func formatSec(d time.Duration) int64 {
	if d > 0 && d < time.Second {
		return 1
	}
	return int64(d / time.Second)
}

// formatMs is d in whole milliseconds (at least 1 for a positive d).
func formatMs(d time.Duration) int64 {
	if d > 0 && d < time.Millisecond {
		return 1
	}
	return int64(d / time.Millisecond)
}

// formatFSec is a blocking command's timeout in seconds, fractions kept
// ("0.25"): 0 waits forever.
func formatFSec(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func formatUnix(t time.Time) int64   { return t.Unix() }
func formatUnixMs(t time.Time) int64 { return t.UnixMilli() }

// appendExpiration appends EX or PX (whole seconds use EX), or KEEPTTL.
func appendExpiration(args []any, expiration time.Duration) []any {
	switch {
	case expiration == KeepTTL:
		return append(args, "keepttl")
	case expiration <= 0:
		return args
	case expiration%time.Second == 0:
		return append(args, "ex", int64(expiration/time.Second))
	default:
		return append(args, "px", formatMs(expiration))
	}
}

func argsGetEx(key string, expiration time.Duration) []any {
	args := []any{"getex", key}
	if expiration == 0 {
		return append(args, "persist")
	}
	return appendExpiration(args, expiration)
}

func argsSet(key string, value any, expiration time.Duration) []any {
	return appendExpiration([]any{"set", key, value}, expiration)
}

func argsSetArgs(key string, value any, a SetArgs) []any {
	args := []any{"set", key, value}
	switch {
	case a.KeepTTL:
		args = append(args, "keepttl")
	case !a.ExpireAt.IsZero():
		args = append(args, "exat", a.ExpireAt.Unix())
	default:
		args = appendExpiration(args, a.TTL)
	}
	if a.Mode != "" {
		args = append(args, a.Mode)
	}
	if a.Get {
		args = append(args, "get")
	}
	return args
}

func argsSetEx(key string, value any, expiration time.Duration) []any {
	return argsSet(key, value, expiration)
}

func argsSetNX(key string, value any, expiration time.Duration) []any {
	return append(argsSet(key, value, expiration), "nx")
}

func argsSetXX(key string, value any, expiration time.Duration) []any {
	return append(argsSet(key, value, expiration), "xx")
}

func argsCopy(sourceKey, destKey string, db int, replace bool) []any {
	args := []any{"copy", sourceKey, destKey, "db", db}
	if replace {
		args = append(args, "replace")
	}
	return args
}

func appendScan(args []any, cursor uint64, match string, count int64) []any {
	args = append(args, cursor)
	if match != "" {
		args = append(args, "match", match)
	}
	if count > 0 {
		args = append(args, "count", count)
	}
	return args
}

func argsScan(cursor uint64, match string, count int64) []any {
	return appendScan([]any{"scan"}, cursor, match, count)
}

func argsScanType(cursor uint64, match string, count int64, keyType string) []any {
	args := appendScan([]any{"scan"}, cursor, match, count)
	if keyType != "" {
		args = append(args, "type", keyType)
	}
	return args
}

func argsHScan(key string, cursor uint64, match string, count int64) []any {
	return appendScan([]any{"hscan", key}, cursor, match, count)
}

func argsSScan(key string, cursor uint64, match string, count int64) []any {
	return appendScan([]any{"sscan", key}, cursor, match, count)
}

func argsZScan(key string, cursor uint64, match string, count int64) []any {
	return appendScan([]any{"zscan", key}, cursor, match, count)
}

func appendKeys(args []any, keys []string) []any {
	for _, k := range keys {
		args = append(args, k)
	}
	return args
}

func argsBLMPop(timeout time.Duration, direction string, count int64, keys ...string) []any {
	args := appendKeys([]any{"blmpop", formatFSec(timeout), len(keys)}, keys)
	return append(args, direction, "count", count)
}

func argsLMPop(direction string, count int64, keys ...string) []any {
	args := appendKeys([]any{"lmpop", len(keys)}, keys)
	return append(args, direction, "count", count)
}

func argsLPos(key string, value string, a LPosArgs) []any {
	args := []any{"lpos", key, value}
	if a.Rank != 0 {
		args = append(args, "rank", a.Rank)
	}
	if a.MaxLen != 0 {
		args = append(args, "maxlen", a.MaxLen)
	}
	return args
}

func argsSInterCard(limit int64, keys ...string) []any {
	args := appendKeys([]any{"sintercard", len(keys)}, keys)
	if limit > 0 {
		args = append(args, "limit", limit)
	}
	return args
}

func argsZInterCard(limit int64, keys ...string) []any {
	args := appendKeys([]any{"zintercard", len(keys)}, keys)
	if limit > 0 {
		args = append(args, "limit", limit)
	}
	return args
}

// appendStore appends numkeys, the keys, WEIGHTS and AGGREGATE.
func appendStore(args []any, store *ZStore) []any {
	args = appendKeys(append(args, len(store.Keys)), store.Keys)
	if len(store.Weights) > 0 {
		args = append(args, "weights")
		for _, w := range store.Weights {
			args = append(args, w)
		}
	}
	if store.Aggregate != "" {
		args = append(args, "aggregate", store.Aggregate)
	}
	return args
}

func argsZInter(store *ZStore) []any { return appendStore([]any{"zinter"}, store) }
func argsZInterWithScores(store *ZStore) []any {
	return append(appendStore([]any{"zinter"}, store), "withscores")
}
func argsZInterStore(destination string, store *ZStore) []any {
	return appendStore([]any{"zinterstore", destination}, store)
}
func argsZUnion(store ZStore) []any { return appendStore([]any{"zunion"}, &store) }
func argsZUnionWithScores(store ZStore) []any {
	return append(appendStore([]any{"zunion"}, &store), "withscores")
}
func argsZUnionStore(dest string, store *ZStore) []any {
	return appendStore([]any{"zunionstore", dest}, store)
}

func argsZDiff(keys ...string) []any { return appendKeys([]any{"zdiff", len(keys)}, keys) }
func argsZDiffWithScores(keys ...string) []any {
	return append(argsZDiff(keys...), "withscores")
}
func argsZDiffStore(destination string, keys ...string) []any {
	return appendKeys([]any{"zdiffstore", destination, len(keys)}, keys)
}

func argsZPop(name, key string, count []int64) []any {
	args := []any{name, key}
	if len(count) > 0 && count[0] != 1 {
		args = append(args, count[0])
	}
	return args
}

func argsZPopMax(key string, count ...int64) []any { return argsZPop("zpopmax", key, count) }
func argsZPopMin(key string, count ...int64) []any { return argsZPop("zpopmin", key, count) }

func argsZRangeBy(name, key, lo, hi string, opt *ZRangeBy, withScores bool) []any {
	args := []any{name, key, lo, hi}
	if withScores {
		args = append(args, "withscores")
	}
	if opt.Offset != 0 || opt.Count != 0 {
		args = append(args, "limit", opt.Offset, opt.Count)
	}
	return args
}

func argsZRangeByScore(key string, opt *ZRangeBy) []any {
	return argsZRangeBy("zrangebyscore", key, opt.Min, opt.Max, opt, false)
}
func argsZRangeByLex(key string, opt *ZRangeBy) []any {
	return argsZRangeBy("zrangebylex", key, opt.Min, opt.Max, opt, false)
}
func argsZRangeByScoreWithScores(key string, opt *ZRangeBy) []any {
	return argsZRangeBy("zrangebyscore", key, opt.Min, opt.Max, opt, true)
}
func argsZRevRangeByScore(key string, opt *ZRangeBy) []any {
	return argsZRangeBy("zrevrangebyscore", key, opt.Max, opt.Min, opt, false)
}
func argsZRevRangeByLex(key string, opt *ZRangeBy) []any {
	return argsZRangeBy("zrevrangebylex", key, opt.Max, opt.Min, opt, false)
}
func argsZRevRangeByScoreWithScores(key string, opt *ZRangeBy) []any {
	return argsZRangeBy("zrevrangebyscore", key, opt.Max, opt.Min, opt, true)
}

func argsXAdd(a *XAddArgs) []any {
	args := []any{"xadd", a.Stream}
	if a.NoMkStream {
		args = append(args, "nomkstream")
	}
	trim := "="
	if a.Approx {
		trim = "~"
	}
	switch {
	case a.MaxLen > 0:
		args = append(args, "maxlen", trim, a.MaxLen)
	case a.MinID != "":
		args = append(args, "minid", trim, a.MinID)
	}
	if a.Limit > 0 {
		args = append(args, "limit", a.Limit)
	}
	if a.ID != "" {
		args = append(args, a.ID)
	} else {
		args = append(args, "*")
	}
	return appendArgs(args, []any{a.Values})
}

// appendBlockStreams appends COUNT, BLOCK and the streams with their IDs.
func appendBlockStreams(args []any, count int64, block time.Duration, streams []string, id string) []any {
	if count > 0 {
		args = append(args, "count", count)
	}
	if block >= 0 {
		args = append(args, "block", int64(block/time.Millisecond))
	}
	args = appendKeys(append(args, "streams"), streams)
	if id != "" {
		for range streams {
			args = append(args, id)
		}
	}
	return args
}

func argsXRead(a *XReadArgs) []any {
	return appendBlockStreams([]any{"xread"}, a.Count, a.Block, a.Streams, a.ID)
}

func argsXReadGroup(a *XReadGroupArgs) []any {
	args := []any{"xreadgroup", "group", a.Group, a.Consumer}
	if a.NoAck {
		args = append(args, "noack")
	}
	return appendBlockStreams(args, a.Count, a.Block, a.Streams, "")
}

func argsXTrimMaxLenApprox(key string, maxLen, limit int64) []any {
	args := []any{"xtrim", key, "maxlen", "~", maxLen}
	if limit > 0 {
		args = append(args, "limit", limit)
	}
	return args
}

func argsXTrimMinIDApprox(key string, minID string, limit int64) []any {
	args := []any{"xtrim", key, "minid", "~", minID}
	if limit > 0 {
		args = append(args, "limit", limit)
	}
	return args
}

func argsEvalLike(name, script string, keys []string, args []any) []any {
	out := make([]any, 0, 3+len(keys)+len(args))
	out = appendKeys(append(out, name, script, len(keys)), keys)
	return append(out, args...)
}

func argsEval(script string, keys []string, args ...any) []any {
	return argsEvalLike("eval", script, keys, args)
}
func argsEvalSha(sha1 string, keys []string, args ...any) []any {
	return argsEvalLike("evalsha", sha1, keys, args)
}
func argsEvalRO(script string, keys []string, args ...any) []any {
	return argsEvalLike("eval_ro", script, keys, args)
}
func argsEvalShaRO(sha1 string, keys []string, args ...any) []any {
	return argsEvalLike("evalsha_ro", sha1, keys, args)
}
