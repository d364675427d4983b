//! Status codes: explicit numbers, never reused.

use std::ffi::c_char;

/// The outcome of a fallible call.
///
/// The numbers are part of the ABI: a retired code stays listed here as a
/// comment and its number is never given to another meaning.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_status {
    /// Success.
    REDKEEP_OK = 0,
    /// A NULL pointer where one is required, invalid UTF-8, a length that
    /// does not match its array, an out-of-range option.
    REDKEEP_INVALID_ARGUMENT = 1,
    /// A bug: Rust code panicked; the panic was caught at the boundary.
    REDKEEP_PANIC = 2,
    /// An error the library could not classify (a newer core error kind).
    REDKEEP_INTERNAL = 3,
    /// The call's `redkeep_cancel` was triggered before it completed. A
    /// command may or may not have reached the server.
    REDKEEP_CANCELLED = 4,
    /// A phase ran past its timeout; `redkeep_error_phase` says which.
    REDKEEP_TIMEOUT = 10,
    /// The pool is down: the call failed fast without touching the network.
    REDKEEP_UNAVAILABLE = 11,
    /// The connection failed: refused, reset, closed, authentication
    /// refused, or the peer does not speak the Redis protocol.
    REDKEEP_CONNECTION = 12,
    /// The server answered with an error reply (`ERR ...`, `WRONGTYPE ...`);
    /// the error's message is the server's text.
    REDKEEP_RESPONSE = 13,
    /// The pool (or another handle) was closed.
    REDKEEP_CLOSED = 14,
    /// The configuration is invalid (bad URL, zero sizes, ...).
    REDKEEP_CONFIG = 15,
    /// A local `redis-server` could not be started or supervised.
    REDKEEP_SPAWN = 16,
    /// An operating-system I/O error outside a Redis connection.
    REDKEEP_IO = 17,
    /// The pool refused the command without sending it: it changes the
    /// state of the connection it runs on (`SELECT`, `MULTI`/`EXEC`,
    /// `WATCH`, the `SUBSCRIBE` family, `CLIENT SETNAME`, `AUTH`, ...), which
    /// other callers share. The message names what to use instead (the
    /// URL's database or password, a transaction, a subscriber).
    REDKEEP_REFUSED = 18,
}

/// The phase of a request that ran out of time (see `REDKEEP_TIMEOUT`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_phase {
    /// Not a timeout.
    REDKEEP_PHASE_NONE = 0,
    /// Opening a connection (handshake included).
    REDKEEP_PHASE_CONNECT = 1,
    /// Waiting for a free connection in the pool.
    REDKEEP_PHASE_WAIT = 2,
    /// Waiting for the reply to a command (also the per-call timeout).
    REDKEEP_PHASE_COMMAND = 3,
}

impl redkeep_status {
    fn name(code: u32) -> &'static str {
        use redkeep_status::*;
        const ALL: [redkeep_status; 14] = [
            REDKEEP_OK,
            REDKEEP_INVALID_ARGUMENT,
            REDKEEP_PANIC,
            REDKEEP_INTERNAL,
            REDKEEP_CANCELLED,
            REDKEEP_TIMEOUT,
            REDKEEP_UNAVAILABLE,
            REDKEEP_CONNECTION,
            REDKEEP_RESPONSE,
            REDKEEP_CLOSED,
            REDKEEP_CONFIG,
            REDKEEP_SPAWN,
            REDKEEP_IO,
            REDKEEP_REFUSED,
        ];
        match ALL.iter().find(|s| **s as u32 == code) {
            Some(REDKEEP_OK) => "REDKEEP_OK\0",
            Some(REDKEEP_INVALID_ARGUMENT) => "REDKEEP_INVALID_ARGUMENT\0",
            Some(REDKEEP_PANIC) => "REDKEEP_PANIC\0",
            Some(REDKEEP_INTERNAL) => "REDKEEP_INTERNAL\0",
            Some(REDKEEP_CANCELLED) => "REDKEEP_CANCELLED\0",
            Some(REDKEEP_TIMEOUT) => "REDKEEP_TIMEOUT\0",
            Some(REDKEEP_UNAVAILABLE) => "REDKEEP_UNAVAILABLE\0",
            Some(REDKEEP_CONNECTION) => "REDKEEP_CONNECTION\0",
            Some(REDKEEP_RESPONSE) => "REDKEEP_RESPONSE\0",
            Some(REDKEEP_CLOSED) => "REDKEEP_CLOSED\0",
            Some(REDKEEP_CONFIG) => "REDKEEP_CONFIG\0",
            Some(REDKEEP_SPAWN) => "REDKEEP_SPAWN\0",
            Some(REDKEEP_IO) => "REDKEEP_IO\0",
            Some(REDKEEP_REFUSED) => "REDKEEP_REFUSED\0",
            None => "REDKEEP_UNKNOWN_STATUS\0",
        }
    }
}

/// The name of a status code (`"REDKEEP_TIMEOUT"`), or
/// `"REDKEEP_UNKNOWN_STATUS"` for a number this version does not know.
///
/// Takes the code as a plain integer so that any value is safe to pass.
/// Returns a static string: never `NULL`, never freed. Thread safety: any
/// thread.
#[no_mangle]
pub extern "C" fn redkeep_status_name(status: u32) -> *const c_char {
    ffi_value!(c"REDKEEP_PANIC".as_ptr(), {
        redkeep_status::name(status).as_ptr().cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn names_are_nul_terminated_and_match() {
        for code in 0..20 {
            // SAFETY: redkeep_status_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(redkeep_status_name(code)) };
            assert!(name.to_str().unwrap().starts_with("REDKEEP_"));
        }
        // SAFETY: as above.
        let name = unsafe { CStr::from_ptr(redkeep_status_name(10)) };
        assert_eq!(name.to_str().unwrap(), "REDKEEP_TIMEOUT");
        // SAFETY: as above.
        let name = unsafe { CStr::from_ptr(redkeep_status_name(18)) };
        assert_eq!(name.to_str().unwrap(), "REDKEEP_REFUSED");
    }
}
