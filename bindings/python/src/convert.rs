//! Python arguments to a redis command, and replies back to Python.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use redkeep::redis::{self, Value};

/// A command built from `execute(*args)`, with what the pool needs to know
/// to route it.
pub(crate) struct Command {
    pub(crate) cmd: redis::Cmd,
    /// For a blocking command (`BLPOP`, `XREAD ... BLOCK`, `WAIT`, ...): how
    /// long the server may legitimately hold the reply; `None` = forever.
    pub(crate) blocking: Option<Option<std::time::Duration>>,
}

/// Commands that turn a connection into something else than request/reply.
const REFUSED: &[&str] = &[
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "MONITOR",
    "SYNC",
    "PSYNC",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "RESET",
    "QUIT",
    "SELECT",
    "CLIENT",
    "HELLO",
    "AUTH",
];

/// Encodes `args` (str, bytes, bytearray, memoryview, int, float) the way
/// redis-py does: str as UTF-8, int and float as their decimal `repr`.
pub(crate) fn command(args: &Bound<'_, PyTuple>) -> PyResult<Command> {
    if args.is_empty() {
        return Err(PyTypeError::new_err(
            "execute() needs at least the command name, e.g. execute(\"PING\")",
        ));
    }
    let mut cmd = redis::Cmd::new();
    let mut words: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        words.push(encode(&arg, i)?);
    }
    let name = String::from_utf8_lossy(&words[0]).to_ascii_uppercase();
    if REFUSED.contains(&name.as_str()) && !allowed_client_subcommand(&name, &words) {
        return Err(PyValueError::new_err(format!(
            "{name} cannot go through execute(): it changes the state of a connection \
             that other calls share"
        )));
    }
    let blocking = blocking_timeout(&name, &words);
    for word in &words {
        cmd.arg(word.as_slice());
    }
    Ok(Command { cmd, blocking })
}

/// `CLIENT` subcommands that only read (`CLIENT LIST`, `CLIENT ID`, ...) are fine.
fn allowed_client_subcommand(name: &str, words: &[Vec<u8>]) -> bool {
    if name != "CLIENT" {
        return false;
    }
    let sub = words
        .get(1)
        .map(|w| String::from_utf8_lossy(w).to_ascii_uppercase())
        .unwrap_or_default();
    matches!(
        sub.as_str(),
        "LIST" | "ID" | "INFO" | "GETNAME" | "KILL" | "PAUSE" | "UNPAUSE" | "HELP"
    )
}

fn encode(arg: &Bound<'_, PyAny>, index: usize) -> PyResult<Vec<u8>> {
    if let Ok(b) = arg.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = arg.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if arg.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "argument {index} is a bool: convert it explicitly (e.g. int(flag) or str(flag))"
        )));
    }
    if let Ok(i) = arg.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(v.to_string().into_bytes());
        }
        return Ok(i.str()?.to_str()?.as_bytes().to_vec());
    }
    if arg.is_instance_of::<PyFloat>() {
        return Ok(arg.repr()?.to_str()?.as_bytes().to_vec());
    }
    if let Ok(b) = arg.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if arg.is_instance_of::<pyo3::types::PyMemoryView>() {
        let bytes = arg.call_method0("tobytes")?;
        return Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "argument {index} has type {}: expected str, bytes, int or float",
        arg.get_type().name()?
    )))
}

/// How long a blocking command may wait at the server, read from its own
/// timeout argument; `Some(None)` means forever (timeout `0`).
fn blocking_timeout(name: &str, words: &[Vec<u8>]) -> Option<Option<std::time::Duration>> {
    let word = |i: usize| {
        words
            .get(i)
            .map(|w| String::from_utf8_lossy(w).into_owned())
    };
    let secs = |s: Option<String>| s.and_then(|s| s.parse::<f64>().ok());
    let ms = |s: Option<String>| secs(s).map(|v| v / 1000.0);
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
    // An unreadable timeout: the server will refuse it; keep the default.
    let timeout = timeout?;
    if timeout <= 0.0 {
        return Some(None);
    }
    Some(std::time::Duration::try_from_secs_f64(timeout).ok())
}

/// A reply as Python sees it: bulk strings as `bytes` (or `str` with
/// `decode`), status replies (`OK`, `PONG`) as `str`, integers as `int`,
/// nil as `None`, arrays as `list`, maps as `dict`.
pub(crate) fn reply<'py>(
    py: Python<'py>,
    value: Value,
    decode: bool,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Nil => py.None().into_bound(py),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::BulkString(bytes) => bulk(py, &bytes, decode)?,
        Value::SimpleString(s) => PyString::new(py, &s).into_any(),
        Value::Okay => PyString::new(py, "OK").into_any(),
        Value::Array(items) | Value::Set(items) => list(py, items, decode)?,
        Value::Push { data, .. } => list(py, data, decode)?,
        Value::Map(pairs) => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                let key = reply(py, k, decode)?;
                let key = if key.is_instance_of::<PyList>() {
                    PyTuple::new(py, key.cast::<PyList>()?.iter())?.into_any()
                } else {
                    key
                };
                dict.set_item(key, reply(py, v, decode)?)?;
            }
            dict.into_any()
        }
        Value::Attribute { data, .. } => reply(py, *data, decode)?,
        Value::Double(f) => PyFloat::new(py, f).into_any(),
        Value::Boolean(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::VerbatimString { text, .. } => PyString::new(py, &text).into_any(),
        Value::BigNumber(n) => {
            let digits = String::from_utf8_lossy(&n).into_owned();
            py.get_type::<PyInt>().call1((digits,))?
        }
        Value::ServerError(e) => {
            let message = match e.details() {
                Some(details) => format!("{} {details}", e.code()),
                None => e.code().to_owned(),
            };
            crate::errors::response_error_value(py, message)?
        }
        other => PyString::new(py, &format!("{other:?}")).into_any(),
    })
}

fn bulk<'py>(py: Python<'py>, bytes: &[u8], decode: bool) -> PyResult<Bound<'py, PyAny>> {
    if decode {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(PyString::new(py, s).into_any()),
            // The same error redis-py raises, from Python's own decoder.
            Err(_) => PyBytes::new(py, bytes).call_method1("decode", ("utf-8",)),
        }
    } else {
        Ok(PyBytes::new(py, bytes).into_any())
    }
}

fn list<'py>(py: Python<'py>, items: Vec<Value>, decode: bool) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(reply(py, item, decode)?)?;
    }
    Ok(list.into_any())
}

/// A reply (or error) that becomes a Python object once the GIL is held:
/// what an awaitable resolves to.
pub(crate) enum Outcome {
    Reply(Value, bool),
    Error(redkeep::Error),
}

impl<'py> IntoPyObject<'py> for Outcome {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Outcome::Reply(value, decode) => reply(py, value, decode),
            Outcome::Error(e) => Err(crate::errors::to_pyerr(py, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::blocking_timeout;
    use std::time::Duration;

    fn words(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    fn timeout(args: &[&str]) -> Option<Option<Duration>> {
        let w = words(args);
        blocking_timeout(&args[0].to_ascii_uppercase(), &w)
    }

    #[test]
    fn reads_each_blocking_commands_own_timeout() {
        assert_eq!(timeout(&["GET", "k"]), None);
        assert_eq!(
            timeout(&["BLPOP", "a", "b", "5"]),
            Some(Some(Duration::from_secs(5)))
        );
        assert_eq!(
            timeout(&["brpop", "a", "0.5"]),
            Some(Some(Duration::from_millis(500)))
        );
        assert_eq!(timeout(&["BLPOP", "a", "0"]), Some(None));
        assert_eq!(
            timeout(&["BLMPOP", "2", "1", "a", "LEFT"]),
            Some(Some(Duration::from_secs(2)))
        );
        assert_eq!(
            timeout(&["WAIT", "1", "250"]),
            Some(Some(Duration::from_millis(250)))
        );
        assert_eq!(
            timeout(&["XREAD", "COUNT", "1", "block", "100", "STREAMS", "s", "$"]),
            Some(Some(Duration::from_millis(100)))
        );
        assert_eq!(timeout(&["XREAD", "STREAMS", "s", "0"]), None);
        // Unreadable: the server refuses it; the default timeout applies.
        assert_eq!(timeout(&["BLPOP", "a", "soon"]), None);
    }
}
