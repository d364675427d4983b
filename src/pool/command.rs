//! The one command table: what kind of command a call carries decides which
//! connection may run it, how long its reply may take, and whether it may
//! be sent again. Every path (Rust, C, Go, Python) asks here.

use std::time::Duration;

/// What a command does to the connection it runs on, as the pool sees it.
///
/// Decided by [`command_class`] from the command's name (and, where it
/// matters, its subcommand or options). The pool acts on it:
///
/// | class | shared path ([`Pool::query`](crate::Pool::query) and every binding's call) |
/// |---|---|
/// | `ReadOnly` | sent; re-sent once on a fresh connection if the connection dropped |
/// | `Ordinary` | sent once, never re-sent |
/// | `Blocking` | run on an exclusive connection, reply timeout = its own wait + `timeouts.command` |
/// | `ConnectionState` | refused unsent with [`ErrorKind::Refused`](crate::ErrorKind::Refused) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandClass {
    /// Never changes data (`GET`, `MGET`, `HGETALL`, `SCAN`, ...): repeating
    /// it after a dropped connection cannot duplicate a write.
    ReadOnly,
    /// Waits on the server before it replies (`BLPOP`, `XREAD ... BLOCK`,
    /// `WAIT`, ...). (`DEBUG SLEEP` stalls the whole server, not one
    /// connection: it is `Ordinary`, bounded by `timeouts.command`.)
    Blocking {
        /// How long the server may hold the reply, read from the command's
        /// own timeout argument; `None` means forever (a timeout of `0`) or
        /// unreadable (the server will refuse it).
        wait: Option<Duration>,
    },
    /// Changes the state of the connection it runs on (`SELECT`, `MULTI`,
    /// `WATCH`, `SUBSCRIBE`, `CLIENT SETNAME`, `AUTH`, ...): on a shared
    /// connection it would leak into other callers' commands.
    ConnectionState,
    /// Everything else: writes and commands not known to be read-only.
    Ordinary,
}

impl CommandClass {
    /// Whether the command may wait on the server.
    pub fn is_blocking(self) -> bool {
        matches!(self, CommandClass::Blocking { .. })
    }

    /// How long the reply to a command of this class may take, on a
    /// connection whose reply timeout is `command` (`timeouts.command`): a
    /// blocking command's own wait plus `command` (a year if it waits
    /// forever), `command` for any other.
    ///
    /// ```
    /// use std::time::Duration;
    /// use redkeep::{command_class, redis};
    /// let blpop = command_class(redis::cmd("BLPOP").arg("q").arg(5));
    /// assert_eq!(blpop.reply_timeout(Duration::from_secs(2)), Duration::from_secs(7));
    /// ```
    pub fn reply_timeout(self, command: Duration) -> Duration {
        const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);
        match self {
            CommandClass::Blocking { wait } => wait.map_or(FOREVER, |w| w.saturating_add(command)),
            _ => command,
        }
    }
}

/// What the table says of a command name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Never changes data, so repeating it after a dropped connection
    /// cannot duplicate a write.
    ReadOnly,
    /// Waits on the server in the form [`blocking_wait`] reads; not
    /// read-only otherwise.
    MayBlock,
    /// `XREAD`: blocking with `BLOCK`, read-only without.
    MayBlockOrRead,
    /// Changes the connection it runs on; the tool to use instead.
    State(Tool),
    /// `CLIENT`: judged by its subcommand ([`CLIENT_STATE`]).
    Client,
}

/// Every command the pool treats apart from `Ordinary`, sorted by name
/// (upper case, at most 16 bytes: [`key`] packs them): one lookup per call.
#[rustfmt::skip]
const COMMANDS: &[(&str, Kind)] = &[
    ("AUTH", Kind::State(Tool::Url)),
    ("BITCOUNT", Kind::ReadOnly),
    ("BITPOS", Kind::ReadOnly),
    ("BLMOVE", Kind::MayBlock),
    ("BLMPOP", Kind::MayBlock),
    ("BLPOP", Kind::MayBlock),
    ("BRPOP", Kind::MayBlock),
    ("BRPOPLPUSH", Kind::MayBlock),
    ("BZMPOP", Kind::MayBlock),
    ("BZPOPMAX", Kind::MayBlock),
    ("BZPOPMIN", Kind::MayBlock),
    ("CLIENT", Kind::Client),
    ("DBSIZE", Kind::ReadOnly),
    ("DISCARD", Kind::State(Tool::Transaction)),
    ("DUMP", Kind::ReadOnly),
    ("ECHO", Kind::ReadOnly),
    ("EXEC", Kind::State(Tool::Transaction)),
    ("EXISTS", Kind::ReadOnly),
    ("GEODIST", Kind::ReadOnly),
    ("GEOHASH", Kind::ReadOnly),
    ("GEOPOS", Kind::ReadOnly),
    ("GET", Kind::ReadOnly),
    ("GETBIT", Kind::ReadOnly),
    ("GETRANGE", Kind::ReadOnly),
    ("HELLO", Kind::State(Tool::Url)),
    ("HEXISTS", Kind::ReadOnly),
    ("HGET", Kind::ReadOnly),
    ("HGETALL", Kind::ReadOnly),
    ("HKEYS", Kind::ReadOnly),
    ("HLEN", Kind::ReadOnly),
    ("HMGET", Kind::ReadOnly),
    ("HRANDFIELD", Kind::ReadOnly),
    ("HSCAN", Kind::ReadOnly),
    ("HSTRLEN", Kind::ReadOnly),
    ("HVALS", Kind::ReadOnly),
    ("KEYS", Kind::ReadOnly),
    ("LINDEX", Kind::ReadOnly),
    ("LLEN", Kind::ReadOnly),
    ("LPOS", Kind::ReadOnly),
    ("LRANGE", Kind::ReadOnly),
    ("MGET", Kind::ReadOnly),
    ("MONITOR", Kind::State(Tool::Monitor)),
    ("MULTI", Kind::State(Tool::Transaction)),
    ("PFCOUNT", Kind::ReadOnly),
    ("PING", Kind::ReadOnly),
    ("PSUBSCRIBE", Kind::State(Tool::Subscriber)),
    ("PSYNC", Kind::State(Tool::Exclusive)),
    ("PTTL", Kind::ReadOnly),
    ("PUNSUBSCRIBE", Kind::State(Tool::Subscriber)),
    ("QUIT", Kind::State(Tool::Close)),
    ("RANDOMKEY", Kind::ReadOnly),
    ("READONLY", Kind::State(Tool::Exclusive)),
    ("READWRITE", Kind::State(Tool::Exclusive)),
    ("RESET", Kind::State(Tool::Exclusive)),
    ("SCAN", Kind::ReadOnly),
    ("SCARD", Kind::ReadOnly),
    ("SDIFF", Kind::ReadOnly),
    ("SELECT", Kind::State(Tool::Url)),
    ("SINTER", Kind::ReadOnly),
    ("SISMEMBER", Kind::ReadOnly),
    ("SMEMBERS", Kind::ReadOnly),
    ("SMISMEMBER", Kind::ReadOnly),
    ("SRANDMEMBER", Kind::ReadOnly),
    ("SSCAN", Kind::ReadOnly),
    ("SSUBSCRIBE", Kind::State(Tool::Subscriber)),
    ("STRLEN", Kind::ReadOnly),
    ("SUBSCRIBE", Kind::State(Tool::Subscriber)),
    ("SUBSTR", Kind::ReadOnly),
    ("SUNION", Kind::ReadOnly),
    ("SUNSUBSCRIBE", Kind::State(Tool::Subscriber)),
    ("SYNC", Kind::State(Tool::Exclusive)),
    ("TTL", Kind::ReadOnly),
    ("TYPE", Kind::ReadOnly),
    ("UNSUBSCRIBE", Kind::State(Tool::Subscriber)),
    ("UNWATCH", Kind::State(Tool::Transaction)),
    ("WAIT", Kind::MayBlock),
    ("WAITAOF", Kind::MayBlock),
    ("WATCH", Kind::State(Tool::Transaction)),
    ("XLEN", Kind::ReadOnly),
    ("XRANGE", Kind::ReadOnly),
    ("XREAD", Kind::MayBlockOrRead),
    ("XREADGROUP", Kind::MayBlock),
    ("XREVRANGE", Kind::ReadOnly),
    ("ZCARD", Kind::ReadOnly),
    ("ZCOUNT", Kind::ReadOnly),
    ("ZLEXCOUNT", Kind::ReadOnly),
    ("ZMSCORE", Kind::ReadOnly),
    ("ZRANGE", Kind::ReadOnly),
    ("ZRANGEBYLEX", Kind::ReadOnly),
    ("ZRANGEBYSCORE", Kind::ReadOnly),
    ("ZRANK", Kind::ReadOnly),
    ("ZREVRANGE", Kind::ReadOnly),
    ("ZREVRANGEBYLEX", Kind::ReadOnly),
    ("ZREVRANGEBYSCORE", Kind::ReadOnly),
    ("ZREVRANK", Kind::ReadOnly),
    ("ZSCAN", Kind::ReadOnly),
    ("ZSCORE", Kind::ReadOnly),
];

/// The names of [`COMMANDS`] packed by [`key`], in the same order (sorted
/// and so without duplicates: checked at compile time).
const KEYS: [u128; COMMANDS.len()] = {
    let mut out = [0u128; COMMANDS.len()];
    let mut i = 0;
    while i < COMMANDS.len() {
        let name = COMMANDS[i].0.as_bytes();
        assert!(name.len() <= 16, "a command name longer than 16 bytes");
        let mut buf = [0u8; 16];
        let mut j = 0;
        while j < name.len() {
            buf[j] = name[j];
            j += 1;
        }
        out[i] = u128::from_be_bytes(buf);
        assert!(i == 0 || out[i - 1] < out[i], "COMMANDS is not sorted");
        i += 1;
    }
    out
};

/// A command name as one integer: its first 16 bytes in upper case,
/// big-endian, zero-padded (so integers sort as the names do); `None` if
/// longer than any name in the table.
#[inline]
fn key(word: &[u8]) -> Option<u128> {
    let mut buf = [0u8; 16];
    buf.get_mut(..word.len())?.copy_from_slice(word);
    Some(ascii_upper(u128::from_be_bytes(buf)))
}

/// The 16 bytes of `x` with ASCII `a..=z` turned upper case, all at once
/// (every other byte, non-ASCII included, unchanged).
#[inline]
fn ascii_upper(x: u128) -> u128 {
    const ONES: u128 = u128::MAX / 0xff; // 0x01 in every byte
    let low7 = x & (ONES * 0x7f);
    // Per byte, the top bit of `low7 + n` is set when the byte's low seven
    // bits are at least `0x80 - n` (no carry crosses bytes: both are < 0x80).
    let at_least_a = low7 + ONES * (0x80 - u128::from(b'a'));
    let above_z = low7 + ONES * (0x80 - u128::from(b'z') - 1);
    let lower = at_least_a & !above_z & !x & (ONES * 0x80);
    x ^ (lower >> 2)
}

/// Slots of [`SLOTS`]: a power of two, over twice the commands, so that a
/// lookup mostly reads one slot.
const SLOT_COUNT: usize = 256;

/// Where a packed name starts its search in [`SLOTS`].
const fn slot_of(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOT_COUNT.trailing_zeros())) as usize
}

/// An open-addressing hash table over [`KEYS`], built at compile time:
/// each slot holds an index into [`COMMANDS`] plus one, or 0 if empty.
const SLOTS: [u8; SLOT_COUNT] = {
    assert!(COMMANDS.len() < SLOT_COUNT / 2 && COMMANDS.len() < u8::MAX as usize);
    let mut slots = [0u8; SLOT_COUNT];
    let mut i = 0;
    while i < KEYS.len() {
        let mut at = slot_of(KEYS[i]);
        while slots[at] != 0 {
            at = (at + 1) % SLOT_COUNT;
        }
        slots[at] = (i + 1) as u8;
        i += 1;
    }
    slots
};

/// The table's entry for a command name: its canonical spelling and kind.
#[inline]
fn lookup(word: &[u8]) -> Option<(&'static str, Kind)> {
    let key = key(word)?;
    let mut at = slot_of(key);
    loop {
        let i = usize::from(SLOTS[at]).checked_sub(1)?;
        if KEYS[i] == key {
            return Some(COMMANDS[i]);
        }
        at = (at + 1) % SLOT_COUNT;
    }
}

/// `CLIENT` subcommands that change the connection.
const CLIENT_STATE: &[&str] = &[
    "NO-EVICT", "NO-TOUCH", "REPLY", "SETINFO", "SETNAME", "TRACKING",
];

/// Where a refused command belongs instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    /// A transaction: an exclusive connection (`Pool::get`) or an atomic pipeline.
    Transaction,
    /// A subscriber connection (`Pool::pubsub`).
    Subscriber,
    /// The pool's URL or options (database, user, protocol).
    Url,
    /// An exclusive connection (`Pool::get`).
    Exclusive,
    /// A monitor connection (`Pool::monitor`).
    Monitor,
    /// `Pool::close`.
    Close,
}

/// Which class `cmd` belongs to. A command with no name is `Ordinary` (the
/// server will refuse it).
///
/// ```
/// use redkeep::{command_class, CommandClass, redis};
/// assert_eq!(command_class(redis::cmd("GET").arg("k")), CommandClass::ReadOnly);
/// assert_eq!(command_class(redis::cmd("SELECT").arg(1)), CommandClass::ConnectionState);
/// assert!(command_class(redis::cmd("BLPOP").arg("q").arg(3)).is_blocking());
/// ```
pub fn command_class(cmd: &redis::Cmd) -> CommandClass {
    classify(cmd).0
}

/// The class, and for a connection-state command the tool to use instead.
///
/// On the path of every call: no allocation unless the command blocks.
pub(crate) fn classify(cmd: &redis::Cmd) -> (CommandClass, Option<Tool>) {
    let mut args = cmd.args_iter().map(|arg| match arg {
        redis::Arg::Simple(bytes) => bytes,
        _ => b"0".as_slice(),
    });
    let Some((name, kind)) = args.next().and_then(lookup) else {
        return (CommandClass::Ordinary, None);
    };
    match kind {
        Kind::ReadOnly => (CommandClass::ReadOnly, None),
        Kind::State(tool) => (CommandClass::ConnectionState, Some(tool)),
        Kind::Client => {
            let mut sub_buf = [0u8; NAME_MAX];
            let sub = args.next().and_then(|w| upper(w, &mut sub_buf));
            if sub.is_some_and(|sub| CLIENT_STATE.contains(&sub)) {
                (CommandClass::ConnectionState, Some(Tool::Exclusive))
            } else {
                (CommandClass::Ordinary, None)
            }
        }
        Kind::MayBlock | Kind::MayBlockOrRead => {
            let words: Vec<&[u8]> = cmd
                .args_iter()
                .map(|arg| match arg {
                    redis::Arg::Simple(bytes) => bytes,
                    _ => b"0".as_slice(),
                })
                .collect();
            match blocking_wait(name, &words) {
                Some(wait) => (CommandClass::Blocking { wait }, None),
                None if kind == Kind::MayBlockOrRead => (CommandClass::ReadOnly, None),
                None => (CommandClass::Ordinary, None),
            }
        }
    }
}

/// Longer than any command name Redis has (`ZREVRANGEBYSCORE` is 16).
const NAME_MAX: usize = 24;

/// `word` in upper case in `buf`; `None` if not ASCII or too long to be a
/// command name.
fn upper<'a>(word: &[u8], buf: &'a mut [u8; NAME_MAX]) -> Option<&'a str> {
    let out = buf.get_mut(..word.len())?;
    out.copy_from_slice(word);
    out.make_ascii_uppercase();
    std::str::from_utf8(out).ok()
}

/// The class of `cmd` for a call on the pool's shared path, or its refusal
/// (unsent) if it is a connection-state command.
pub(crate) fn admit(cmd: &redis::Cmd) -> crate::Result<CommandClass> {
    match classify(cmd) {
        (CommandClass::ConnectionState, tool) => Err(refusal(cmd, tool.unwrap_or(Tool::Exclusive))),
        (class, _) => Ok(class),
    }
}

/// The refusal of a connection-state command on the shared path, naming the
/// tool to use instead.
pub(crate) fn refusal(cmd: &redis::Cmd, tool: Tool) -> crate::Error {
    let mut words = cmd.args_iter().filter_map(|arg| match arg {
        redis::Arg::Simple(bytes) => Some(String::from_utf8_lossy(bytes).to_ascii_uppercase()),
        _ => None,
    });
    let mut name = words.next().unwrap_or_default();
    if name == "CLIENT" {
        if let Some(sub) = words.next() {
            name = format!("{name} {sub}");
        }
    }
    let (instead, rust) = match tool {
        Tool::Transaction => (
            "run it in a transaction on a connection of its own instead",
            " (Rust: Pool::get, or an atomic pipeline with Pool::query_pipeline)",
        ),
        Tool::Subscriber => (
            "subscribe on a connection of its own instead",
            " (Rust: Pool::pubsub)",
        ),
        Tool::Url => (
            "set it in the pool's URL or options instead (database, user, password)",
            "",
        ),
        Tool::Exclusive => (
            "run it on a connection of its own instead",
            " (Rust: Pool::get)",
        ),
        Tool::Monitor => (
            "open a monitor on a connection of its own instead",
            " (Rust: Pool::monitor)",
        ),
        Tool::Close => ("close the pool instead", " (Rust: Pool::close)"),
    };
    crate::Error::new(
        crate::ErrorKind::Refused,
        format!(
            "{name} was not sent: it changes the state of the connection, which other \
             calls share; {instead}"
        ),
    )
    .with_rust_hint(rust)
}

/// What a command does to the transaction state of an exclusive
/// connection: the exclusive path tracks it, so that a connection still
/// watching keys or inside `MULTI` never goes back to the pool as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `WATCH`: keys are watched until `EXEC`, `DISCARD` or `UNWATCH`.
    Watch,
    /// `MULTI`: commands are queued until `EXEC` or `DISCARD`.
    Multi,
    /// `EXEC` or `DISCARD`: the transaction and the watches end.
    End,
    /// `UNWATCH`: the watches end.
    Unwatch,
    /// Any other connection-state command (`SELECT`, `CLIENT SETNAME`,
    /// `SUBSCRIBE`, ...): the connection cannot be handed to someone else.
    Other,
    /// No effect on the connection.
    None,
}

/// The [`Step`] `cmd` takes on the connection it runs on.
pub(crate) fn step(cmd: &redis::Cmd) -> Step {
    if classify(cmd).0 != CommandClass::ConnectionState {
        return Step::None;
    }
    let mut buf = [0u8; NAME_MAX];
    let name = cmd.args_iter().next().and_then(|arg| match arg {
        redis::Arg::Simple(bytes) => upper(bytes, &mut buf),
        _ => None,
    });
    match name {
        Some("WATCH") => Step::Watch,
        Some("MULTI") => Step::Multi,
        Some("EXEC" | "DISCARD") => Step::End,
        Some("UNWATCH") => Step::Unwatch,
        _ => Step::Other,
    }
}

/// For a blocking command, how long the server may hold the reply:
/// `Some(None)` forever or unreadable, `None` not a blocking command.
fn blocking_wait(name: &str, words: &[&[u8]]) -> Option<Option<Duration>> {
    let word = |i: usize| words.get(i).and_then(|w| std::str::from_utf8(w).ok());
    let secs = |s: Option<&str>| s.and_then(|s| s.trim().parse::<f64>().ok());
    let ms = |s: Option<&str>| secs(s).map(|v| v / 1000.0);
    let timeout = match name {
        "BLPOP" | "BRPOP" | "BRPOPLPUSH" | "BLMOVE" | "BZPOPMIN" | "BZPOPMAX" => {
            secs(word(words.len() - 1))
        }
        "BLMPOP" | "BZMPOP" => secs(word(1)),
        "WAIT" => ms(word(2)),
        "WAITAOF" => ms(word(3)),
        "XREAD" | "XREADGROUP" => {
            let at = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case(b"BLOCK"))?;
            ms(word(at + 1))
        }
        _ => return None,
    };
    Some(match timeout {
        Some(t) if t > 0.0 => Duration::try_from_secs_f64(t).ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(args: &[&str]) -> CommandClass {
        let mut cmd = redis::Cmd::new();
        for a in args {
            cmd.arg(*a);
        }
        command_class(&cmd)
    }

    #[test]
    fn ascii_upper_changes_only_lower_case_letters() {
        for b in 0..=255u8 {
            let x = u128::from_be_bytes([b; 16]);
            let want = u128::from_be_bytes([b.to_ascii_uppercase(); 16]);
            assert_eq!(ascii_upper(x), want, "byte {b:#x}");
        }
    }

    #[test]
    fn every_name_of_the_table_is_found_in_any_case() {
        for (name, kind) in COMMANDS {
            assert_eq!(lookup(name.as_bytes()), Some((*name, *kind)));
            assert_eq!(
                lookup(name.to_ascii_lowercase().as_bytes()),
                Some((*name, *kind))
            );
        }
        assert_eq!(lookup(b"GETX"), None);
        assert_eq!(lookup(b""), None);
        assert_eq!(lookup(b"ZREVRANGEBYSCOREX"), None);
        assert_eq!(lookup("gét".as_bytes()), None);
    }

    #[test]
    fn blocking_commands_carry_their_own_wait() {
        let wait = |args: &[&str]| match class(args) {
            CommandClass::Blocking { wait } => wait,
            other => panic!("{args:?} is {other:?}"),
        };
        assert_eq!(wait(&["blpop", "q", "3"]), Some(Duration::from_secs(3)));
        assert_eq!(
            wait(&["BRPOP", "a", "b", "0.5"]),
            Some(Duration::from_millis(500))
        );
        assert_eq!(wait(&["BLPOP", "q", "0"]), None);
        assert_eq!(
            wait(&["BLMPOP", "2", "1", "q", "LEFT"]),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            wait(&["WAIT", "1", "250"]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            wait(&["WAITAOF", "1", "0", "100"]),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            wait(&["XREAD", "COUNT", "1", "BLOCK", "1500", "STREAMS", "s", "$"]),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(wait(&["BLPOP", "q", "soon"]), None);
    }

    #[test]
    fn non_blocking_forms_are_not_blocking() {
        assert_eq!(
            class(&["XREAD", "STREAMS", "s", "0"]),
            CommandClass::ReadOnly
        );
        assert_eq!(class(&["DEBUG", "OBJECT", "k"]), CommandClass::Ordinary);
        assert_eq!(class(&["DEBUG", "SLEEP", "1"]), CommandClass::Ordinary);
        assert_eq!(class(&["GET", "k"]), CommandClass::ReadOnly);
        assert_eq!(class(&["INCR", "k"]), CommandClass::Ordinary);
        assert_eq!(class(&[]), CommandClass::Ordinary);
    }

    #[test]
    fn connection_state_commands_are_recognised() {
        for args in [
            &["SELECT", "1"][..],
            &["multi"],
            &["WATCH", "k"],
            &["SUBSCRIBE", "c"],
            &["client", "setname", "x"],
            &["CLIENT", "TRACKING", "on"],
            &["AUTH", "pw"],
            &["HELLO", "3"],
            &["RESET"],
            &["READONLY"],
            &["QUIT"],
            &["MONITOR"],
        ] {
            assert_eq!(class(args), CommandClass::ConnectionState, "{args:?}");
        }
        assert_eq!(class(&["CLIENT", "ID"]), CommandClass::Ordinary);
        assert_eq!(class(&["CLIENT", "LIST"]), CommandClass::Ordinary);
    }

    #[test]
    fn a_refusal_names_the_command_and_the_tool() {
        let e = refusal(&redis::cmd("multi"), Tool::Transaction);
        assert_eq!(e.kind(), crate::ErrorKind::Refused);
        assert!(e.to_string().starts_with("MULTI was not sent"), "{e}");
        assert!(e.to_string().contains("Pool::get"), "{e}");
        let python = e.message_in(crate::Language::Python);
        assert!(!python.contains("Pool::"), "{python}");
        assert!(python.contains("transaction"), "{python}");
        let e = refusal(
            redis::cmd("client").arg("setname").arg("x"),
            Tool::Exclusive,
        );
        assert!(
            e.to_string().starts_with("CLIENT SETNAME was not sent"),
            "{e}"
        );
        let (_, tool) = classify(&redis::cmd("monitor"));
        let e = refusal(&redis::cmd("monitor"), tool.unwrap());
        assert!(e.to_string().contains("Pool::monitor"), "{e}");
        let python = e.message_in(crate::Language::Python);
        assert!(python.contains("a monitor"), "{python}");
    }
}
