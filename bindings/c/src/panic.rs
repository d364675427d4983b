//! The panic boundary every exported body runs in (rustls-ffi style).
//!
//! `ffi_status!(err, { ... })` runs a body returning `Result<(), Failure>`,
//! stores a failure in the optional `redkeep_error **err` and returns its
//! status; a panic becomes `REDKEEP_PANIC`. `ffi_value!(default, { ... })`
//! is the same for infallible accessors: a panic returns `default`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{redkeep_error, Failure};
use crate::status::redkeep_status;

/// Runs `body` for a fallible exported function.
macro_rules! ffi_status {
    ($err:expr, $body:block) => {
        $crate::panic::status_boundary(
            $err,
            #[allow(unused_unsafe)]
            move || -> ::std::result::Result<(), $crate::error::Failure> { $body },
        )
    };
}

/// Runs `body` for an infallible exported function.
macro_rules! ffi_value {
    ($default:expr, $body:block) => {
        $crate::panic::value_boundary(
            move || $default,
            #[allow(unused_unsafe)]
            move || $body,
        )
    };
}

pub(crate) fn status_boundary(
    err: *mut *mut redkeep_error,
    body: impl FnOnce() -> Result<(), Failure>,
) -> redkeep_status {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` points to writable storage for one pointer
        // (the documented contract of every `redkeep_error **` parameter).
        unsafe { err.write(std::ptr::null_mut()) };
    }
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return redkeep_status::REDKEEP_OK,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::new(
            redkeep_status::REDKEEP_PANIC,
            format!("redkeep panicked (a bug): {}", panic_message(&payload)),
        ),
    };
    let status = failure.status;
    if !err.is_null() {
        // Building the error allocates; a failure there must not unwind into C.
        if let Ok(error) = catch_unwind(AssertUnwindSafe(|| failure.into_error())) {
            // SAFETY: as above; the caller owns the new error.
            unsafe { err.write(Box::into_raw(Box::new(error))) };
        }
    }
    status
}

pub(crate) fn value_boundary<T>(default: impl FnOnce() -> T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| default())
}

fn panic_message(payload: &Box<dyn Any + Send>) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_an_error() {
        let mut err: *mut redkeep_error = std::ptr::null_mut();
        let status = ffi_status!(&mut err, { panic!("boom") });
        assert_eq!(status, redkeep_status::REDKEEP_PANIC);
        assert!(!err.is_null());
        // SAFETY: err was just produced by the boundary.
        let err = unsafe { Box::from_raw(err) };
        assert!(err.message.to_str().unwrap().contains("boom"));
    }

    #[test]
    fn a_panic_in_an_accessor_returns_the_default() {
        let v: i64 = ffi_value!(7, { panic!("boom") });
        assert_eq!(v, 7);
    }
}
