//! C ABI for redkeep.
//!
//! Every exported item is prefixed `redkeep_`; the header
//! `include/redkeep.h` is generated from this crate by a pinned cbindgen
//! (`scripts/check-header.sh` fails when it is stale).
//!
//! # Conventions
//!
//! - **Status.** Every fallible function returns a [`redkeep_status`]
//!   (`REDKEEP_OK` is `0`) and writes its results through out-pointers. On
//!   failure, out-pointers are set to `NULL`/zero.
//! - **Errors.** Fallible functions take an optional `redkeep_error **err`
//!   last. When it is not `NULL`, `*err` is set to `NULL` on success and to
//!   an owned [`redkeep_error`] on failure, to be released with
//!   [`redkeep_error_free`].
//! - **Ownership.** Every object the library allocates has its `*_free`;
//!   borrowed pointers (strings of a handle, children of a reply) are valid
//!   until their owner is freed.
//! - **Safety net.** NULL pointers, invalid UTF-8, inconsistent lengths and
//!   commands past [`REDKEEP_MAX_ARGS`] or [`REDKEEP_MAX_COMMAND_BYTES`] give
//!   `REDKEEP_INVALID_ARGUMENT` with a message; a Rust panic is caught at the
//!   boundary and reported as `REDKEEP_PANIC`, never unwound into C.
//! - **One set of rules.** Which connection a command runs on, how long it
//!   may take, whether it is refused (`REDKEEP_REFUSED`) or re-sent, and a
//!   spawned server's lifetime are decided by the Rust core, the same for
//!   every language; this crate only converts arguments, errors and
//!   replies. Messages name settings the C way, or the Go way after
//!   [`redkeep_set_language`].
//! - **Threads.** All calls block the calling thread until done. A
//!   [`redkeep_pool`] may be used from many threads at once; a
//!   [`redkeep_cancel`] may be triggered from any thread. Freeing a handle
//!   must not race with other calls on it. The async work runs on the
//!   core's one process-wide tokio runtime, created on first use, with
//!   `REDKEEP_RUNTIME_THREADS` worker threads (default: the number of CPUs,
//!   between 2 and 4); see [`redkeep_shutdown`].
//! - **Asynchronous commands.** [`redkeep_pool_submit`] returns at once
//!   and delivers the outcome to a [`redkeep_completions`] queue whose file
//!   descriptor an event loop can watch.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, rust_2018_idioms)]
#![allow(non_camel_case_types)]
// The exported functions check their pointers themselves and document the
// contract in the header; marking them `unsafe` changes nothing for C.
#![allow(clippy::missing_safety_doc)]

#[macro_use]
mod panic;

mod args;
mod cancel;
mod completions;
mod conn;
mod deploy;
mod error;
mod language;
mod nodes;
mod notify;
mod observe;
mod options;
mod pipeline;
mod pool;
mod reply;
mod runtime;
mod server;
mod status;
mod subscriber;
mod watch;

pub use args::{REDKEEP_MAX_ARGS, REDKEEP_MAX_COMMAND_BYTES};
pub use cancel::*;
pub use completions::*;
pub use conn::*;
pub use deploy::*;
pub use error::*;
pub use language::*;
pub use nodes::*;
pub use observe::*;
pub use options::*;
pub use pipeline::*;
pub use pool::*;
pub use reply::*;
pub use runtime::redkeep_shutdown;
pub use server::*;
pub use status::*;
pub use subscriber::*;
pub use watch::*;

use std::ffi::c_char;

/// The library's version, e.g. `"0.1.0"`.
///
/// Returns a static NUL-terminated string: never `NULL`, never freed.
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn redkeep_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
