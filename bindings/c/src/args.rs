//! Checked conversions of C arguments.

use std::ffi::{c_char, CStr};

use redkeep::redis;

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

/// A command from `argc` (pointer, length) pairs; `argc` must be at least 1.
///
/// # Safety
/// `argv` and `argv_len` are NULL or valid for `argc` elements, and each
/// `argv[i]` is NULL or valid for `argv_len[i]` bytes, all alive for the call.
pub(crate) unsafe fn arg_command(
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
) -> Result<redis::Cmd, Failure> {
    check_argc(argc)?;
    // SAFETY: `argv` and `argv_len` have `argc` entries per the caller.
    let ptrs = unsafe { arg_slice(argv, argc, "argv") }?;
    // SAFETY: as above.
    let lens = unsafe { arg_slice(argv_len, argc, "argv_len") }?;
    let mut cmd = redis::Cmd::new();
    for (i, (&ptr, &len)) in ptrs.iter().zip(lens).enumerate() {
        // SAFETY: each argument is valid for `len` bytes per the caller.
        let bytes = unsafe { arg_slice(ptr, len, &format!("argv[{i}]")) }?;
        cmd.arg(bytes);
    }
    Ok(cmd)
}

/// A command packed into one buffer: argument `i` is the next `lens[i]`
/// bytes of `buf`, and the lengths must add up to `buf_len` exactly.
///
/// # Safety
/// `buf` is NULL or valid for `buf_len` bytes, and `lens` NULL or valid for
/// `argc` elements, alive for the call.
pub(crate) unsafe fn arg_packed_command(
    buf: *const u8,
    buf_len: usize,
    lens: *const usize,
    argc: usize,
) -> Result<redis::Cmd, Failure> {
    check_argc(argc)?;
    // SAFETY: `lens` has `argc` entries and `buf` `buf_len` bytes.
    let lens = unsafe { arg_slice(lens, argc, "lens") }?;
    // SAFETY: as above.
    let buf = unsafe { arg_slice(buf, buf_len, "buf") }?;
    let total = lens.iter().try_fold(0usize, |acc, &n| acc.checked_add(n));
    if total != Some(buf_len) {
        return Err(Failure::invalid(format!(
            "the argument lengths add up to {} but buf_len is {buf_len}",
            total.map_or_else(|| "more than SIZE_MAX".to_owned(), |t| t.to_string())
        )));
    }
    let mut cmd = redis::Cmd::new();
    let mut at = 0;
    for &n in lens {
        cmd.arg(&buf[at..at + n]);
        at += n;
    }
    Ok(cmd)
}

fn check_argc(argc: usize) -> Result<(), Failure> {
    if argc == 0 {
        return Err(Failure::invalid(
            "argc must be at least 1 (the command name)",
        ));
    }
    Ok(())
}
