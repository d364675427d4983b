//! Checked conversions of C arguments.

use std::ffi::{c_char, CStr};

use crate::error::Failure;

/// A required shared reference.
///
/// # Safety
/// `ptr` is NULL or valid for reads as a `T` for `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::invalid(format!("{name} must not be NULL")))
}

/// Checks that a required out-pointer is not NULL.
pub(crate) fn arg_out<T>(ptr: *mut T, name: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::invalid(format!("{name} must not be NULL")))
    } else {
        Ok(())
    }
}

/// Writes through an out-pointer checked with [`arg_out`] (the target may
/// be uninitialised, so no reference to it is made).
///
/// # Safety
/// `ptr` is valid for writes of a `T`.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: forwarded to the caller.
    unsafe { ptr.write(value) }
}

/// A required NUL-terminated UTF-8 string.
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string alive for `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { opt_str(ptr, name) }?
        .ok_or_else(|| Failure::invalid(format!("{name} must not be NULL")))
}

/// An optional NUL-terminated UTF-8 string (`NULL` is `None`).
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string alive for `'a`.
pub(crate) unsafe fn opt_str<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|e| Failure::invalid(format!("{name} is not valid UTF-8: {e}")))
}

/// A `(pointer, length)` array; a zero length may come with a NULL pointer.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` elements for `'a`.
pub(crate) unsafe fn arg_slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::invalid(format!(
            "{name} is NULL but its length is {len}"
        )));
    }
    // SAFETY: non-NULL and valid for `len` elements per the caller.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}
