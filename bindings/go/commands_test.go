package redkeep

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// One test per family of typed commands, against a real redis-server:
// the arguments reach Redis in go-redis's order and the replies come back
// as go-redis's result types.

func TestStringCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if v, err := p.Set(ctx, "s", "hello", 0).Result(); err != nil || v != "OK" {
		t.Fatalf("Set = %q, %v", v, err)
	}
	if v, err := p.Get(ctx, "s").Result(); err != nil || v != "hello" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := p.Get(ctx, "missing").Result(); !errors.Is(err, Nil) {
		t.Fatalf("Get(missing) err = %v, want Nil", err)
	}
	if n := p.Append(ctx, "s", " world").Val(); n != 11 {
		t.Fatalf("Append = %d", n)
	}
	if v := p.GetRange(ctx, "s", 0, 4).Val(); v != "hello" {
		t.Fatalf("GetRange = %q", v)
	}
	if n, _ := p.IncrBy(ctx, "n", 5).Result(); n != 5 {
		t.Fatalf("IncrBy = %d", n)
	}
	if n := p.Decr(ctx, "n").Val(); n != 4 {
		t.Fatalf("Decr = %d", n)
	}
	if f := p.IncrByFloat(ctx, "f", 1.5).Val(); f != 1.5 {
		t.Fatalf("IncrByFloat = %v", f)
	}
	if err := p.MSet(ctx, map[string]any{"a": "1", "b": "2"}).Err(); err != nil {
		t.Fatal(err)
	}
	if v := p.MGet(ctx, "a", "missing", "b").Val(); !reflect.DeepEqual(v, []any{"1", nil, "2"}) {
		t.Fatalf("MGet = %#v", v)
	}
	if ok := p.SetNX(ctx, "a", "x", 0).Val(); ok {
		t.Fatal("SetNX on an existing key must be false")
	}
	if ok := p.SetNX(ctx, "fresh", "x", time.Minute).Val(); !ok {
		t.Fatal("SetNX on a new key must be true")
	}
	if old, err := p.SetArgs(ctx, "a", "3", SetArgs{Get: true, TTL: time.Hour}).Result(); err != nil || old != "1" {
		t.Fatalf("SetArgs(Get) = %q, %v", old, err)
	}
	if d := p.TTL(ctx, "a").Val(); d <= 59*time.Minute || d > time.Hour {
		t.Fatalf("TTL after SetArgs = %v", d)
	}
	if err := p.Set(ctx, "a", "4", KeepTTL).Err(); err != nil {
		t.Fatal(err)
	}
	if d := p.TTL(ctx, "a").Val(); d <= 59*time.Minute {
		t.Fatalf("KeepTTL lost the TTL: %v", d)
	}
	if v, _ := p.GetDel(ctx, "fresh").Result(); v != "x" || p.Exists(ctx, "fresh").Val() != 0 {
		t.Fatalf("GetDel = %q", v)
	}
	if n, err := p.Get(ctx, "n").Int64(); err != nil || n != 4 {
		t.Fatalf("Get.Int64 = %d, %v", n, err)
	}
	if n := p.StrLen(ctx, "s").Val(); n != 11 {
		t.Fatalf("StrLen = %d", n)
	}
}

func TestKeyAndExpiryCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	p.Set(ctx, "k", "v", 0)
	if d := p.TTL(ctx, "k").Val(); d != -1 {
		t.Fatalf("TTL without expiry = %v, want -1", d)
	}
	if d := p.TTL(ctx, "nokey").Val(); d != -2 {
		t.Fatalf("TTL of a missing key = %v, want -2", d)
	}
	if ok := p.Expire(ctx, "k", 10*time.Second).Val(); !ok {
		t.Fatal("Expire = false")
	}
	if ok := p.ExpireNX(ctx, "k", time.Hour).Val(); ok {
		t.Fatal("ExpireNX on a key with a TTL must be false")
	}
	if d := p.PTTL(ctx, "k").Val(); d <= 9*time.Second || d > 10*time.Second {
		t.Fatalf("PTTL = %v", d)
	}
	if ok := p.PExpire(ctx, "k", 1500*time.Millisecond).Val(); !ok {
		t.Fatal("PExpire = false")
	}
	if ok := p.Persist(ctx, "k").Val(); !ok || p.TTL(ctx, "k").Val() != -1 {
		t.Fatal("Persist did not remove the TTL")
	}
	if ok := p.ExpireAt(ctx, "k", time.Now().Add(time.Hour)).Val(); !ok {
		t.Fatal("ExpireAt = false")
	}
	if typ := p.Type(ctx, "k").Val(); typ != "string" {
		t.Fatalf("Type = %q", typ)
	}
	if err := p.Rename(ctx, "k", "k2").Err(); err != nil {
		t.Fatal(err)
	}
	if n := p.Exists(ctx, "k", "k2").Val(); n != 1 {
		t.Fatalf("Exists = %d", n)
	}
	for i := 0; i < 30; i++ {
		p.Set(ctx, "scan:"+string(rune('a'+i%26))+string(rune('a'+i/26)), i, 0)
	}
	seen := map[string]bool{}
	var cursor uint64
	for {
		keys, next, err := p.Scan(ctx, cursor, "scan:*", 7).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			seen[k] = true
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if len(seen) != 30 {
		t.Fatalf("Scan saw %d keys, want 30", len(seen))
	}
	if keys := p.Keys(ctx, "k*").Val(); !reflect.DeepEqual(keys, []string{"k2"}) {
		t.Fatalf("Keys = %v", keys)
	}
	if n := p.Del(ctx, "k2", "nokey").Val(); n != 1 {
		t.Fatalf("Del = %d", n)
	}
}

func TestHashCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if n := p.HSet(ctx, "h", "a", "1", "b", "2").Val(); n != 2 {
		t.Fatalf("HSet(pairs) = %d", n)
	}
	if n := p.HSet(ctx, "h", map[string]any{"c": 3}).Val(); n != 1 {
		t.Fatalf("HSet(map) = %d", n)
	}
	if v := p.HGet(ctx, "h", "a").Val(); v != "1" {
		t.Fatalf("HGet = %q", v)
	}
	if _, err := p.HGet(ctx, "h", "zz").Result(); !errors.Is(err, Nil) {
		t.Fatalf("HGet(missing) = %v, want Nil", err)
	}
	if m := p.HGetAll(ctx, "h").Val(); !reflect.DeepEqual(m, map[string]string{"a": "1", "b": "2", "c": "3"}) {
		t.Fatalf("HGetAll = %v", m)
	}
	if v := p.HMGet(ctx, "h", "a", "zz").Val(); !reflect.DeepEqual(v, []any{"1", nil}) {
		t.Fatalf("HMGet = %#v", v)
	}
	if n := p.HIncrBy(ctx, "h", "a", 10).Val(); n != 11 {
		t.Fatalf("HIncrBy = %d", n)
	}
	if ok := p.HExists(ctx, "h", "b").Val(); !ok {
		t.Fatal("HExists = false")
	}
	if n := p.HLen(ctx, "h").Val(); n != 3 {
		t.Fatalf("HLen = %d", n)
	}
	keys := p.HKeys(ctx, "h").Val()
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"a", "b", "c"}) {
		t.Fatalf("HKeys = %v", keys)
	}
	if ok := p.HSetNX(ctx, "h", "a", "x").Val(); ok {
		t.Fatal("HSetNX on an existing field must be false")
	}
	if n := p.HDel(ctx, "h", "a", "zz").Val(); n != 1 {
		t.Fatalf("HDel = %d", n)
	}
}

func TestListCommandsIncludingBlocking(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if n := p.RPush(ctx, "l", "a", "b", "c").Val(); n != 3 {
		t.Fatalf("RPush = %d", n)
	}
	if n := p.LPush(ctx, "l", "z").Val(); n != 4 {
		t.Fatalf("LPush = %d", n)
	}
	if v := p.LRange(ctx, "l", 0, -1).Val(); !reflect.DeepEqual(v, []string{"z", "a", "b", "c"}) {
		t.Fatalf("LRange = %v", v)
	}
	if v := p.LIndex(ctx, "l", 1).Val(); v != "a" {
		t.Fatalf("LIndex = %q", v)
	}
	if n := p.LPos(ctx, "l", "b", LPosArgs{}).Val(); n != 2 {
		t.Fatalf("LPos = %d", n)
	}
	if v := p.LPop(ctx, "l").Val(); v != "z" {
		t.Fatalf("LPop = %q", v)
	}
	if v := p.RPopCount(ctx, "l", 2).Val(); !reflect.DeepEqual(v, []string{"c", "b"}) {
		t.Fatalf("RPopCount = %v", v)
	}
	if n := p.LLen(ctx, "l").Val(); n != 1 {
		t.Fatalf("LLen = %d", n)
	}
	if v, err := p.BLPop(ctx, time.Second, "empty", "l").Result(); err != nil || !reflect.DeepEqual(v, []string{"l", "a"}) {
		t.Fatalf("BLPop = %v, %v", v, err)
	}
	// A blocking pop times out with Nil after its own wait (not the
	// pool's ReadTimeout), on a connection of its own: other commands go
	// on meanwhile.
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.BRPop(ctx, 300*time.Millisecond, "empty").Err() }()
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, Nil) {
		t.Fatalf("BRPop timeout err = %v, want Nil", err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("BRPop returned after %v, before its 300ms wait", el)
	}
	// A waiting BLPOP gets an element pushed by another caller.
	got := make(chan []string, 1)
	go func() { got <- p.BLPop(ctx, 5*time.Second, "jobs").Val() }()
	time.Sleep(50 * time.Millisecond)
	p.RPush(ctx, "jobs", "job1")
	select {
	case v := <-got:
		if !reflect.DeepEqual(v, []string{"jobs", "job1"}) {
			t.Fatalf("BLPop = %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPop did not get the pushed job")
	}
	p.RPush(ctx, "src", "x")
	if v := p.BLMove(ctx, "src", "dst", "LEFT", "RIGHT", time.Second).Val(); v != "x" {
		t.Fatalf("BLMove = %q", v)
	}
	p.RPush(ctx, "m", "1", "2", "3")
	if key, vals, err := p.LMPop(ctx, "left", 2, "nolist", "m").Result(); err != nil || key != "m" || !reflect.DeepEqual(vals, []string{"1", "2"}) {
		t.Fatalf("LMPop = %q %v %v", key, vals, err)
	}
}

func TestSetCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if n := p.SAdd(ctx, "s1", "a", "b", "c").Val(); n != 3 {
		t.Fatalf("SAdd = %d", n)
	}
	p.SAdd(ctx, "s2", "b", "c", "d")
	sorted := func(v []string) []string { sort.Strings(v); return v }
	if v := sorted(p.SInter(ctx, "s1", "s2").Val()); !reflect.DeepEqual(v, []string{"b", "c"}) {
		t.Fatalf("SInter = %v", v)
	}
	if v := sorted(p.SUnion(ctx, "s1", "s2").Val()); len(v) != 4 {
		t.Fatalf("SUnion = %v", v)
	}
	if v := p.SDiff(ctx, "s1", "s2").Val(); !reflect.DeepEqual(v, []string{"a"}) {
		t.Fatalf("SDiff = %v", v)
	}
	if ok := p.SIsMember(ctx, "s1", "a").Val(); !ok {
		t.Fatal("SIsMember = false")
	}
	if v := p.SMIsMember(ctx, "s1", "a", "z").Val(); !reflect.DeepEqual(v, []bool{true, false}) {
		t.Fatalf("SMIsMember = %v", v)
	}
	if m := p.SMembersMap(ctx, "s2").Val(); len(m) != 3 {
		t.Fatalf("SMembersMap = %v", m)
	}
	if n := p.SCard(ctx, "s1").Val(); n != 3 {
		t.Fatalf("SCard = %d", n)
	}
	if n := p.SInterCard(ctx, 0, "s1", "s2").Val(); n != 2 {
		t.Fatalf("SInterCard = %d", n)
	}
	if n := p.SRem(ctx, "s1", "a", "z").Val(); n != 1 {
		t.Fatalf("SRem = %d", n)
	}
}

func TestSortedSetCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if n := p.ZAdd(ctx, "z", Z{Score: 1, Member: "a"}, Z{Score: 2, Member: "b"}, Z{Score: 3, Member: "c"}).Val(); n != 3 {
		t.Fatalf("ZAdd = %d", n)
	}
	if v := p.ZRange(ctx, "z", 0, -1).Val(); !reflect.DeepEqual(v, []string{"a", "b", "c"}) {
		t.Fatalf("ZRange = %v", v)
	}
	if v := p.ZRevRangeWithScores(ctx, "z", 0, 0).Val(); !reflect.DeepEqual(v, []Z{{Score: 3, Member: "c"}}) {
		t.Fatalf("ZRevRangeWithScores = %v", v)
	}
	if v := p.ZRangeByScore(ctx, "z", &ZRangeBy{Min: "(1", Max: "+inf"}).Val(); !reflect.DeepEqual(v, []string{"b", "c"}) {
		t.Fatalf("ZRangeByScore = %v", v)
	}
	if v := p.ZRevRangeByScore(ctx, "z", &ZRangeBy{Min: "-inf", Max: "2", Count: 1}).Val(); !reflect.DeepEqual(v, []string{"b"}) {
		t.Fatalf("ZRevRangeByScore = %v", v)
	}
	if s := p.ZScore(ctx, "z", "b").Val(); s != 2 {
		t.Fatalf("ZScore = %v", s)
	}
	if _, err := p.ZScore(ctx, "z", "nope").Result(); !errors.Is(err, Nil) {
		t.Fatalf("ZScore(missing) = %v, want Nil", err)
	}
	if s := p.ZIncrBy(ctx, "z", 10, "a").Val(); s != 11 {
		t.Fatalf("ZIncrBy = %v", s)
	}
	if r := p.ZRank(ctx, "z", "a").Val(); r != 2 {
		t.Fatalf("ZRank = %d", r)
	}
	if n := p.ZCount(ctx, "z", "2", "3").Val(); n != 2 {
		t.Fatalf("ZCount = %d", n)
	}
	if v := p.ZPopMin(ctx, "z").Val(); !reflect.DeepEqual(v, []Z{{Score: 2, Member: "b"}}) {
		t.Fatalf("ZPopMin = %v", v)
	}
	p.ZAdd(ctx, "z2", Z{Score: 5, Member: "c"})
	if n := p.ZUnionStore(ctx, "zu", &ZStore{Keys: []string{"z", "z2"}, Aggregate: "MAX"}).Val(); n != 2 {
		t.Fatalf("ZUnionStore = %d", n)
	}
	if v := p.ZMScore(ctx, "zu", "c", "nope").Val(); !reflect.DeepEqual(v, []float64{5, 0}) {
		t.Fatalf("ZMScore = %v", v)
	}
	if z, err := p.BZPopMax(ctx, time.Second, "empty", "zu").Result(); err != nil || z.Key != "zu" || z.Member != "a" || z.Score != 11 {
		t.Fatalf("BZPopMax = %+v, %v", z, err)
	}
	if n := p.ZCard(ctx, "zu").Val(); n != 1 {
		t.Fatalf("ZCard = %d", n)
	}
}

func TestStreamCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	id, err := p.XAdd(ctx, &XAddArgs{Stream: "st", Values: map[string]any{"f": "v1"}}).Result()
	if err != nil || !strings.Contains(id, "-") {
		t.Fatalf("XAdd = %q, %v", id, err)
	}
	p.XAdd(ctx, &XAddArgs{Stream: "st", ID: "*", Values: []string{"f", "v2"}})
	if n := p.XLen(ctx, "st").Val(); n != 2 {
		t.Fatalf("XLen = %d", n)
	}
	msgs := p.XRange(ctx, "st", "-", "+").Val()
	if len(msgs) != 2 || msgs[0].ID != id || msgs[0].Values["f"] != "v1" || msgs[1].Values["f"] != "v2" {
		t.Fatalf("XRange = %+v", msgs)
	}
	if m := p.XRevRangeN(ctx, "st", "+", "-", 1).Val(); len(m) != 1 || m[0].Values["f"] != "v2" {
		t.Fatalf("XRevRangeN = %+v", m)
	}
	streams, err := p.XRead(ctx, &XReadArgs{Streams: []string{"st", "0"}, Count: 10, Block: -1}).Result()
	if err != nil || len(streams) != 1 || streams[0].Stream != "st" || len(streams[0].Messages) != 2 {
		t.Fatalf("XRead = %+v, %v", streams, err)
	}
	// XREAD BLOCK runs on a connection of its own and ends with Nil.
	if _, err := p.XRead(ctx, &XReadArgs{Streams: []string{"st", "$"}, Block: 200 * time.Millisecond}).Result(); !errors.Is(err, Nil) {
		t.Fatalf("XRead BLOCK with nothing new = %v, want Nil", err)
	}
	if err := p.XGroupCreate(ctx, "st", "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	got, err := p.XReadGroup(ctx, &XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"st", ">"}, Count: 1, Block: -1}).Result()
	if err != nil || len(got) != 1 || len(got[0].Messages) != 1 {
		t.Fatalf("XReadGroup = %+v, %v", got, err)
	}
	if n := p.XAck(ctx, "st", "g", got[0].Messages[0].ID).Val(); n != 1 {
		t.Fatalf("XAck = %d", n)
	}
	if n := p.XDel(ctx, "st", id).Val(); n != 1 {
		t.Fatalf("XDel = %d", n)
	}
	if n := p.XTrimMaxLen(ctx, "st", 0).Val(); n != 1 {
		t.Fatalf("XTrimMaxLen = %d", n)
	}
}

func TestScriptingCommands(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	const script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[2], ARGV[2])"
	if n, err := p.Eval(ctx, script, []string{"ek", "en"}, "val", 5).Int64(); err != nil || n != 5 {
		t.Fatalf("Eval = %d, %v", n, err)
	}
	if v := p.Get(ctx, "ek").Val(); v != "val" {
		t.Fatalf("Eval's SET: %q", v)
	}
	sha, err := p.ScriptLoad(ctx, "return {KEYS[1], ARGV[1]}").Result()
	if err != nil || len(sha) != 40 {
		t.Fatalf("ScriptLoad = %q, %v", sha, err)
	}
	if v, err := p.EvalSha(ctx, sha, []string{"a"}, "b").StringSlice(); err != nil || !reflect.DeepEqual(v, []string{"a", "b"}) {
		t.Fatalf("EvalSha = %v, %v", v, err)
	}
	if v := p.ScriptExists(ctx, sha, strings.Repeat("0", 40)).Val(); !reflect.DeepEqual(v, []bool{true, false}) {
		t.Fatalf("ScriptExists = %v", v)
	}
	var se *ServerError
	if err := p.EvalSha(ctx, strings.Repeat("0", 40), nil).Err(); !errors.As(err, &se) || se.Prefix() != "NOSCRIPT" {
		t.Fatalf("EvalSha(unknown) = %v, want NOSCRIPT", err)
	}
	if err := p.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

// Connection-state commands are still refused on the pool, typed or not.
func TestTypedCommandsFollowThePoolRules(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if err := p.Process(ctx, NewStatusCmd(ctx, "select", 1)); !errors.Is(err, ErrRefused) {
		t.Fatalf("Process(SELECT) = %v, want ErrRefused", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.BLPop(cctx, 0, "never").Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("BLPop(forever) under a 100ms deadline = %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("the deadline ended BLPop after %v", el)
	}
}
