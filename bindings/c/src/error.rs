//! `redkeep_error`: an owned error with a status, a phase and a message.

use std::ffi::{c_char, CString};

use crate::status::{redkeep_phase, redkeep_status};

/// An error returned through a `redkeep_error **err` out-pointer.
///
/// Ownership: owned by the caller, released with [`redkeep_error_free`].
/// Thread safety: immutable; may be read from any thread and sent between
/// threads.
pub struct redkeep_error {
    pub(crate) status: redkeep_status,
    pub(crate) phase: redkeep_phase,
    pub(crate) message: CString,
}

/// A failure inside the library, before it is handed to C.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: redkeep_status,
    pub(crate) phase: redkeep_phase,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: redkeep_status, message: impl Into<String>) -> Self {
        Self {
            status,
            phase: redkeep_phase::REDKEEP_PHASE_NONE,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(redkeep_status::REDKEEP_INVALID_ARGUMENT, message)
    }

    pub(crate) fn into_error(self) -> redkeep_error {
        let bytes: Vec<u8> = self
            .message
            .into_bytes()
            .into_iter()
            .filter(|b| *b != 0)
            .collect();
        redkeep_error {
            status: self.status,
            phase: self.phase,
            message: CString::new(bytes).unwrap_or_default(),
        }
    }
}

impl From<redkeep::Error> for Failure {
    fn from(err: redkeep::Error) -> Self {
        use redkeep::{ErrorKind as K, Phase};
        use redkeep_phase::*;
        use redkeep_status::*;
        let (status, phase) = match err.kind() {
            K::Timeout(Phase::Connect) => (REDKEEP_TIMEOUT, REDKEEP_PHASE_CONNECT),
            K::Timeout(Phase::Wait) => (REDKEEP_TIMEOUT, REDKEEP_PHASE_WAIT),
            K::Timeout(Phase::Command) => (REDKEEP_TIMEOUT, REDKEEP_PHASE_COMMAND),
            K::Unavailable => (REDKEEP_UNAVAILABLE, REDKEEP_PHASE_NONE),
            K::Connection => (REDKEEP_CONNECTION, REDKEEP_PHASE_NONE),
            K::Response => (REDKEEP_RESPONSE, REDKEEP_PHASE_NONE),
            K::Closed => (REDKEEP_CLOSED, REDKEEP_PHASE_NONE),
            K::Config => (REDKEEP_CONFIG, REDKEEP_PHASE_NONE),
            K::Spawn => (REDKEEP_SPAWN, REDKEEP_PHASE_NONE),
            K::Io => (REDKEEP_IO, REDKEEP_PHASE_NONE),
            K::Refused => (REDKEEP_REFUSED, REDKEEP_PHASE_NONE),
            _ => (REDKEEP_INTERNAL, REDKEEP_PHASE_NONE),
        };
        // For an error reply the core's message is the server's own text; a
        // setting is named the caller's way (redkeep_set_language).
        Self {
            status,
            phase,
            message: err.message_in(crate::language::current()),
        }
    }
}

/// The error's status code (never `REDKEEP_OK`); `REDKEEP_INVALID_ARGUMENT`
/// if `err` is `NULL`.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_error_status(err: *const redkeep_error) -> redkeep_status {
    ffi_value!(redkeep_status::REDKEEP_PANIC, {
        // SAFETY: the caller passes NULL or a live error from this library.
        match unsafe { err.as_ref() } {
            Some(err) => err.status,
            None => redkeep_status::REDKEEP_INVALID_ARGUMENT,
        }
    })
}

/// For a `REDKEEP_TIMEOUT` error, the phase that timed out;
/// `REDKEEP_PHASE_NONE` otherwise or if `err` is `NULL`.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_error_phase(err: *const redkeep_error) -> redkeep_phase {
    ffi_value!(redkeep_phase::REDKEEP_PHASE_NONE, {
        // SAFETY: the caller passes NULL or a live error from this library.
        match unsafe { err.as_ref() } {
            Some(err) => err.phase,
            None => redkeep_phase::REDKEEP_PHASE_NONE,
        }
    })
}

/// The error's message: one line of UTF-8 that never contains a password.
///
/// Ownership: borrowed from `err`, valid until [`redkeep_error_free`].
/// Returns `""` (a static string) if `err` is `NULL`. Thread safety: any
/// thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_error_message(err: *const redkeep_error) -> *const c_char {
    ffi_value!(c"".as_ptr(), {
        // SAFETY: the caller passes NULL or a live error from this library.
        match unsafe { err.as_ref() } {
            Some(err) => err.message.as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// Releases an error. `NULL` is a no-op; freeing twice is undefined.
///
/// Thread safety: must not race with other calls on the same error.
#[no_mangle]
pub unsafe extern "C" fn redkeep_error_free(err: *mut redkeep_error) {
    ffi_value!((), {
        if !err.is_null() {
            // SAFETY: `err` came from Box::into_raw in this library and is
            // freed once, as the contract above requires.
            drop(unsafe { Box::from_raw(err) });
        }
    })
}
