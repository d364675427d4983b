//! Which commands may be sent again after a dropped connection.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted() {
        assert!(READ_ONLY.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn writes_are_not_read_only() {
        assert!(is_read_only(redis::cmd("get").arg("k")));
        assert!(!is_read_only(redis::cmd("INCR").arg("k")));
        assert!(!is_read_only(redis::cmd("SET").arg("k").arg(1)));
        assert!(!is_read_only(&redis::Cmd::new()));
    }
}
