//! `redkeep_reply`: a server reply as a tree, with accessors.

use std::ffi::c_char;

use redkeep::redis::Value;

/// The type of a reply node.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_reply_kind {
    /// A nil reply (`GET` of a missing key). Also what a `NULL` reply reads as.
    REDKEEP_REPLY_NIL = 0,
    /// A signed 64-bit integer: [`redkeep_reply_integer`].
    REDKEEP_REPLY_INTEGER = 1,
    /// A binary-safe bulk string (RESP3 verbatim strings too):
    /// [`redkeep_reply_string`].
    REDKEEP_REPLY_STRING = 2,
    /// A simple status string (`OK`, `PONG`): [`redkeep_reply_string`].
    REDKEEP_REPLY_STATUS = 3,
    /// An array (RESP3 push messages too): [`redkeep_reply_len`],
    /// [`redkeep_reply_element`].
    REDKEEP_REPLY_ARRAY = 4,
    /// An error reply nested in a tree: [`redkeep_reply_string`]. A
    /// command whose reply is or contains an error fails with
    /// `REDKEEP_RESPONSE` instead, so this appears only where the library
    /// hands out raw trees.
    REDKEEP_REPLY_ERROR = 5,
    /// A RESP3 double: [`redkeep_reply_double`].
    REDKEEP_REPLY_DOUBLE = 6,
    /// A RESP3 boolean: [`redkeep_reply_bool`].
    REDKEEP_REPLY_BOOL = 7,
    /// A RESP3 map: [`redkeep_reply_len`] pairs, [`redkeep_reply_map_key`],
    /// [`redkeep_reply_map_value`].
    REDKEEP_REPLY_MAP = 8,
    /// A RESP3 set: like an array.
    REDKEEP_REPLY_SET = 9,
    /// A RESP3 big number, as its decimal text: [`redkeep_reply_string`].
    REDKEEP_REPLY_BIG_NUMBER = 10,
}

/// A reply tree returned by `redkeep_pool_exec`.
///
/// Ownership: the root is owned by the caller and released with
/// [`redkeep_reply_free`], which frees the whole tree; children returned by
/// [`redkeep_reply_element`], [`redkeep_reply_map_key`] and
/// [`redkeep_reply_map_value`] are borrowed from the root and must not be
/// freed. Thread safety: immutable; may be read from several threads at
/// once and sent between threads.
pub struct redkeep_reply {
    node: Node,
}

enum Node {
    Nil,
    Integer(i64),
    /// Bytes followed by one NUL that is not part of the value.
    Text(redkeep_reply_kind, Vec<u8>),
    List(redkeep_reply_kind, Vec<redkeep_reply>),
    Map(Vec<(redkeep_reply, redkeep_reply)>),
    Double(f64),
    Bool(bool),
}

fn text(kind: redkeep_reply_kind, mut bytes: Vec<u8>) -> Node {
    bytes.push(0);
    Node::Text(kind, bytes)
}

impl redkeep_reply {
    pub(crate) fn from_value(value: Value) -> redkeep_reply {
        use redkeep_reply_kind::*;
        let list = |kind, items: Vec<Value>| {
            Node::List(kind, items.into_iter().map(Self::from_value).collect())
        };
        let node = match value {
            Value::Nil => Node::Nil,
            Value::Int(i) => Node::Integer(i),
            Value::BulkString(bytes) => text(REDKEEP_REPLY_STRING, bytes),
            Value::SimpleString(s) => text(REDKEEP_REPLY_STATUS, s.into_bytes()),
            Value::Okay => text(REDKEEP_REPLY_STATUS, b"OK".to_vec()),
            Value::VerbatimString { text: t, .. } => text(REDKEEP_REPLY_STRING, t.into_bytes()),
            Value::Array(items) => list(REDKEEP_REPLY_ARRAY, items),
            Value::Set(items) => list(REDKEEP_REPLY_SET, items),
            Value::Push { data, .. } => list(REDKEEP_REPLY_ARRAY, data),
            Value::Map(pairs) => Node::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Self::from_value(k), Self::from_value(v)))
                    .collect(),
            ),
            Value::Attribute { data, .. } => return Self::from_value(*data),
            Value::Double(d) => Node::Double(d),
            Value::Boolean(b) => Node::Bool(b),
            Value::BigNumber(n) => text(REDKEEP_REPLY_BIG_NUMBER, n),
            Value::ServerError(e) => {
                let message = match e.details() {
                    Some(details) => format!("{} {details}", e.code()),
                    None => e.code().to_owned(),
                };
                text(REDKEEP_REPLY_ERROR, message.into_bytes())
            }
            // A value kind added by a newer redis-rs: keep its debug text.
            #[allow(unreachable_patterns)]
            other => text(REDKEEP_REPLY_STRING, format!("{other:?}").into_bytes()),
        };
        redkeep_reply { node }
    }

    fn kind(&self) -> redkeep_reply_kind {
        match &self.node {
            Node::Nil => redkeep_reply_kind::REDKEEP_REPLY_NIL,
            Node::Integer(_) => redkeep_reply_kind::REDKEEP_REPLY_INTEGER,
            Node::Text(kind, _) | Node::List(kind, _) => *kind,
            Node::Map(_) => redkeep_reply_kind::REDKEEP_REPLY_MAP,
            Node::Double(_) => redkeep_reply_kind::REDKEEP_REPLY_DOUBLE,
            Node::Bool(_) => redkeep_reply_kind::REDKEEP_REPLY_BOOL,
        }
    }
}

/// # Safety
/// `reply` is NULL or a live reply (root or borrowed child).
unsafe fn node<'a>(reply: *const redkeep_reply) -> Option<&'a Node> {
    // SAFETY: forwarded to the caller.
    unsafe { reply.as_ref() }.map(|r| &r.node)
}

/// The node's type; `REDKEEP_REPLY_NIL` for `NULL`.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_get_kind(reply: *const redkeep_reply) -> redkeep_reply_kind {
    ffi_value!(redkeep_reply_kind::REDKEEP_REPLY_NIL, {
        // SAFETY: the caller passes NULL or a live reply.
        unsafe { reply.as_ref() }.map_or(redkeep_reply_kind::REDKEEP_REPLY_NIL, |r| r.kind())
    })
}

/// The value of an `INTEGER` node (a `BOOL` reads as 0/1); `0` for any
/// other node or `NULL`.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_integer(reply: *const redkeep_reply) -> i64 {
    ffi_value!(0, {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::Integer(i)) => *i,
            Some(Node::Bool(b)) => i64::from(*b),
            _ => 0,
        }
    })
}

/// The value of a `DOUBLE` node (an `INTEGER` converts); `0.0` otherwise.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_double(reply: *const redkeep_reply) -> f64 {
    ffi_value!(0.0, {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::Double(d)) => *d,
            Some(Node::Integer(i)) => *i as f64,
            _ => 0.0,
        }
    })
}

/// The value of a `BOOL` node (an `INTEGER` is true when non-zero); `false`
/// otherwise.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_bool(reply: *const redkeep_reply) -> bool {
    ffi_value!(false, {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::Bool(b)) => *b,
            Some(Node::Integer(i)) => *i != 0,
            _ => false,
        }
    })
}

/// The bytes of a `STRING`, `STATUS`, `ERROR` or `BIG_NUMBER` node, with
/// their length in `*len` (if `len` is not `NULL`). The bytes are
/// binary-safe and followed by a NUL that is not counted, so text replies
/// can be used as C strings. Returns `NULL` (and `*len = 0`) for other nodes
/// or `NULL`.
///
/// Ownership: borrowed from the reply tree, valid until the root is freed.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_string(
    reply: *const redkeep_reply,
    len: *mut usize,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: the caller passes NULL or a live reply.
        let (ptr, n) = match unsafe { node(reply) } {
            Some(Node::Text(_, bytes)) => (bytes.as_ptr().cast(), bytes.len() - 1),
            _ => (std::ptr::null(), 0),
        };
        if !len.is_null() {
            // SAFETY: a non-NULL `len` is writable per the contract.
            unsafe { len.write(n) };
        }
        ptr
    })
}

/// The number of elements of an `ARRAY` or `SET` node, or of pairs of a
/// `MAP` node; `0` otherwise.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_len(reply: *const redkeep_reply) -> usize {
    ffi_value!(0, {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::List(_, items)) => items.len(),
            Some(Node::Map(pairs)) => pairs.len(),
            _ => 0,
        }
    })
}

/// Element `index` of an `ARRAY` or `SET` node; `NULL` if out of range or
/// not a list.
///
/// Ownership: borrowed from the root; do not free. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_element(
    reply: *const redkeep_reply,
    index: usize,
) -> *const redkeep_reply {
    ffi_value!(std::ptr::null(), {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::List(_, items)) => {
                items.get(index).map_or(std::ptr::null(), |r| r as *const _)
            }
            _ => std::ptr::null(),
        }
    })
}

/// The key of pair `index` of a `MAP` node; `NULL` if out of range or not
/// a map.
///
/// Ownership: borrowed from the root; do not free. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_map_key(
    reply: *const redkeep_reply,
    index: usize,
) -> *const redkeep_reply {
    ffi_value!(std::ptr::null(), {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::Map(pairs)) => pairs
                .get(index)
                .map_or(std::ptr::null(), |(k, _)| k as *const _),
            _ => std::ptr::null(),
        }
    })
}

/// The value of pair `index` of a `MAP` node; `NULL` if out of range or not
/// a map.
///
/// Ownership: borrowed from the root; do not free. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_map_value(
    reply: *const redkeep_reply,
    index: usize,
) -> *const redkeep_reply {
    ffi_value!(std::ptr::null(), {
        // SAFETY: the caller passes NULL or a live reply.
        match unsafe { node(reply) } {
            Some(Node::Map(pairs)) => pairs
                .get(index)
                .map_or(std::ptr::null(), |(_, v)| v as *const _),
            _ => std::ptr::null(),
        }
    })
}

/// Releases a reply tree. Only roots (from `redkeep_pool_exec`) may be
/// freed; `NULL` is a no-op.
///
/// Thread safety: must not race with reads of the tree.
#[no_mangle]
pub unsafe extern "C" fn redkeep_reply_free(reply: *mut redkeep_reply) {
    ffi_value!((), {
        if !reply.is_null() {
            // SAFETY: a root reply came from Box::into_raw in this library
            // and is freed once.
            drop(unsafe { Box::from_raw(reply) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_reads_back() {
        let v = Value::Array(vec![
            Value::Int(3),
            Value::BulkString(b"a\0b".to_vec()),
            Value::Map(vec![(Value::SimpleString("k".into()), Value::Double(1.5))]),
            Value::Nil,
        ]);
        let root = Box::into_raw(Box::new(redkeep_reply::from_value(v)));
        // SAFETY: `root` is live until freed at the end.
        unsafe {
            assert_eq!(
                redkeep_reply_get_kind(root),
                redkeep_reply_kind::REDKEEP_REPLY_ARRAY
            );
            assert_eq!(redkeep_reply_len(root), 4);
            assert_eq!(redkeep_reply_integer(redkeep_reply_element(root, 0)), 3);
            let mut len = 0;
            let s = redkeep_reply_string(redkeep_reply_element(root, 1), &mut len);
            assert_eq!(std::slice::from_raw_parts(s.cast::<u8>(), len), b"a\0b");
            let map = redkeep_reply_element(root, 2);
            assert_eq!(redkeep_reply_double(redkeep_reply_map_value(map, 0)), 1.5);
            assert!(redkeep_reply_map_key(map, 1).is_null());
            assert!(redkeep_reply_element(root, 4).is_null());
            assert_eq!(
                redkeep_reply_get_kind(std::ptr::null()),
                redkeep_reply_kind::REDKEEP_REPLY_NIL
            );
            redkeep_reply_free(root);
        }
    }
}
