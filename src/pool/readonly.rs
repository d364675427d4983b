//! Command tables: which commands may be sent again after a dropped
//! connection, and which wait on the server.

/// Commands that never change data, so repeating one after a dropped
/// connection cannot duplicate a write. Sorted, upper case.
#[rustfmt::skip]
const READ_ONLY: &[&str] = &[
    "BITCOUNT", "BITPOS", "DBSIZE", "DUMP", "ECHO", "EXISTS", "GEODIST", "GEOHASH", "GEOPOS",
    "GET", "GETBIT", "GETRANGE", "HEXISTS", "HGET", "HGETALL", "HKEYS", "HLEN", "HMGET",
    "HRANDFIELD", "HSCAN", "HSTRLEN", "HVALS", "KEYS", "LINDEX", "LLEN", "LPOS", "LRANGE",
    "MGET", "PFCOUNT", "PING", "PTTL", "RANDOMKEY", "SCAN", "SCARD", "SDIFF", "SINTER",
    "SISMEMBER", "SMEMBERS", "SMISMEMBER", "SRANDMEMBER", "SSCAN", "STRLEN", "SUBSTR",
    "SUNION", "TTL", "TYPE", "XLEN", "XRANGE", "XREVRANGE", "ZCARD", "ZCOUNT", "ZLEXCOUNT",
    "ZMSCORE", "ZRANGE", "ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANK", "ZREVRANGE",
    "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZREVRANK", "ZSCAN", "ZSCORE",
];

/// Whether `cmd` is known to be read-only.
pub(crate) fn is_read_only(cmd: &redis::Cmd) -> bool {
    let Some(redis::Arg::Simple(name)) = cmd.args_iter().next() else {
        return false;
    };
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    READ_ONLY
        .binary_search_by(|probe| probe.cmp(&name.to_ascii_uppercase().as_str()))
        .is_ok()
}

/// Commands that may wait on the server before replying. Sorted, upper case.
const BLOCKING: &[&str] = &[
    "BLMOVE",
    "BLMPOP",
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "BZMPOP",
    "BZPOPMAX",
    "BZPOPMIN",
    "DEBUG",
    "MONITOR",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "SUBSCRIBE",
    "WAIT",
    "WAITAOF",
];

/// Whether `cmd` may wait on the server before it replies (`BLPOP`,
/// `XREAD ... BLOCK`, `WAIT`, `SUBSCRIBE`, ...). Such a command should not
/// go through [`Pool::query_blocking`](crate::Pool::query_blocking), which
/// nothing but its timeout can interrupt.
pub fn is_blocking_command(cmd: &redis::Cmd) -> bool {
    let mut args = cmd.args_iter().filter_map(|arg| match arg {
        redis::Arg::Simple(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    });
    let Some(name) = args.next().map(str::to_ascii_uppercase) else {
        return false;
    };
    if BLOCKING.binary_search(&name.as_str()).is_ok() {
        return true;
    }
    matches!(name.as_str(), "XREAD" | "XREADGROUP")
        && args.any(|arg| arg.eq_ignore_ascii_case("BLOCK"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(READ_ONLY.windows(2).all(|w| w[0] < w[1]));
        assert!(BLOCKING.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn blocking_commands_are_recognised() {
        assert!(is_blocking_command(redis::cmd("blpop").arg("q").arg(0)));
        assert!(is_blocking_command(
            redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(0)
                .arg("STREAMS")
                .arg("s")
                .arg("$")
        ));
        assert!(!is_blocking_command(
            redis::cmd("XREAD").arg("STREAMS").arg("s").arg("0")
        ));
        assert!(!is_blocking_command(redis::cmd("GET").arg("k")));
        assert!(!is_blocking_command(&redis::Cmd::new()));
    }

    #[test]
    fn writes_are_not_read_only() {
        assert!(is_read_only(redis::cmd("get").arg("k")));
        assert!(!is_read_only(redis::cmd("INCR").arg("k")));
        assert!(!is_read_only(redis::cmd("SET").arg("k").arg(1)));
        assert!(!is_read_only(&redis::Cmd::new()));
    }
}
