//! Python arguments to a redis command, and replies back to Python.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use redkeep::redis::{self, Value};

/// Encodes `args` (str, bytes, bytearray, memoryview, int, float) the way
/// redis-py does: str as UTF-8, int and float as their decimal `repr`.
///
/// Only a conversion: which connection the command may use, how long it may
/// wait and whether it is refused is the core's decision
/// ([`redkeep::command_class`]).
pub(crate) fn command(args: &Bound<'_, PyTuple>) -> PyResult<redis::Cmd> {
    if args.is_empty() {
        return Err(PyTypeError::new_err(
            "execute() needs at least the command name, e.g. execute(\"PING\")",
        ));
    }
    let mut cmd = redis::Cmd::new();
    for (i, arg) in args.iter().enumerate() {
        cmd.arg(encode(&arg, i)?);
    }
    Ok(cmd)
}

pub(crate) fn encode(arg: &Bound<'_, PyAny>, index: usize) -> PyResult<Vec<u8>> {
    if let Ok(b) = arg.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = arg.cast::<PyString>() {
        // `to_cow`, not `to_str`: the limited API (abi3-py39) has no borrowed
        // UTF-8 view before 3.10; there it encodes once into an owned String.
        return Ok(s.to_cow()?.into_owned().into_bytes());
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
        return Ok(i.str()?.to_cow()?.into_owned().into_bytes());
    }
    if arg.is_instance_of::<PyFloat>() {
        return Ok(arg.repr()?.to_cow()?.into_owned().into_bytes());
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

/// What a status reply (`OK`, `PONG`, `QUEUED`) and a verbatim string
/// become: the one difference between `redkeep.Pool`'s replies and redis-py's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Always `str`: `redkeep.Pool` and `redkeep.asyncio.Pool`.
    Text,
    /// Like a bulk string, `bytes` (`str` with `decode`): what redis-py's
    /// parsers return, for `redkeep.Redis`.
    LikeBulk,
}

/// How a reply becomes Python objects.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// Bulk strings as `str` (UTF-8) instead of `bytes`.
    pub(crate) decode: bool,
    /// What status replies become.
    pub(crate) status: Status,
}

impl Shape {
    /// `redkeep.Pool`'s replies.
    pub(crate) fn pool(decode: bool) -> Self {
        Shape {
            decode,
            status: Status::Text,
        }
    }

    /// redis-py's replies, for `redkeep.Redis`.
    pub(crate) fn redis_py(decode: bool) -> Self {
        Shape {
            decode,
            status: Status::LikeBulk,
        }
    }
}

/// A reply as Python sees it: bulk strings as `bytes` (`str` with
/// `decode`), status replies as `str` or as bulk strings (see [`Status`]),
/// integers and big numbers as `int`, doubles as `float`, booleans as
/// `bool`, nil as `None`, arrays, sets and pushes as `list`, maps as `dict`
/// (a list key as a `tuple`), and an error reply inside an array as a
/// `redkeep.ResponseError` instance.
pub(crate) fn reply<'py>(
    py: Python<'py>,
    value: Value,
    shape: Shape,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Nil => py.None().into_bound(py),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::BulkString(bytes) => bulk(py, &bytes, shape.decode)?,
        Value::SimpleString(s) => status(py, &s, shape)?,
        Value::Okay => status(py, "OK", shape)?,
        Value::VerbatimString { text, .. } => status(py, &text, shape)?,
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            list(py, items, shape)?
        }
        Value::Map(pairs) => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                let key = reply(py, k, shape)?;
                let key = if key.is_instance_of::<PyList>() {
                    PyTuple::new(py, key.cast::<PyList>()?.iter())?.into_any()
                } else {
                    key
                };
                dict.set_item(key, reply(py, v, shape)?)?;
            }
            dict.into_any()
        }
        Value::Attribute { data, .. } => reply(py, *data, shape)?,
        Value::Double(f) => PyFloat::new(py, f).into_any(),
        Value::Boolean(b) => PyBool::new(py, b).to_owned().into_any(),
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

/// Every reply of a pipeline, as one `list`.
pub(crate) fn list<'py>(
    py: Python<'py>,
    items: Vec<Value>,
    shape: Shape,
) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(reply(py, item, shape)?)?;
    }
    Ok(list.into_any())
}

fn status<'py>(py: Python<'py>, text: &str, shape: Shape) -> PyResult<Bound<'py, PyAny>> {
    match shape.status {
        Status::Text => Ok(PyString::new(py, text).into_any()),
        Status::LikeBulk => bulk(py, text.as_bytes(), shape.decode),
    }
}

/// A bulk string as `bytes`, or as `str` with `decode` (invalid UTF-8
/// raises the `UnicodeDecodeError` redis-py raises).
pub(crate) fn bulk<'py>(
    py: Python<'py>,
    bytes: &[u8],
    decode: bool,
) -> PyResult<Bound<'py, PyAny>> {
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
            Outcome::Reply(value, decode) => reply(py, value, Shape::pool(decode)),
            Outcome::Error(e) => Err(crate::errors::to_pyerr(py, &e)),
        }
    }
}
