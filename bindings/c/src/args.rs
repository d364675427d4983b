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

/// The most arguments one command may have (the command name included):
/// `argc` above it gives `REDKEEP_INVALID_ARGUMENT`, checked before anything
/// is read or allocated. Redis itself accepts at most 1048576 arguments per
/// command from a client (`1024 * 1024`).
pub const REDKEEP_MAX_ARGS: usize = 1048576;

/// The most bytes the arguments of one command may add up to (512 MiB,
/// Redis's own `proto-max-bulk-len`): a larger argument or total gives
/// `REDKEEP_INVALID_ARGUMENT`, checked before anything is read or allocated.
pub const REDKEEP_MAX_COMMAND_BYTES: usize = 536870912;

/// A command from `argc` (pointer, length) pairs; `argc` must be at least 1.
///
/// The bounds ([`REDKEEP_MAX_ARGS`], [`REDKEEP_MAX_COMMAND_BYTES`]) are
/// checked before any slice is built, so no length from C reaches
/// `from_raw_parts` unchecked and no allocation follows a wild `argc`.
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
    // SAFETY: `argv` and `argv_len` have `argc` entries per the caller, and
    // `argc` is at most REDKEEP_MAX_ARGS, so the slices fit in `isize`.
    let ptrs = unsafe { arg_slice(argv, argc, "argv") }?;
    // SAFETY: as above.
    let lens = unsafe { arg_slice(argv_len, argc, "argv_len") }?;
    let total = check_lengths(lens, "argv_len")?;
    let mut cmd = redis::Cmd::with_capacity(argc, total);
    for (i, (&ptr, &len)) in ptrs.iter().zip(lens).enumerate() {
        // SAFETY: each argument is valid for `len` bytes per the caller, and
        // `len` is at most REDKEEP_MAX_COMMAND_BYTES.
        let bytes = unsafe { arg_slice(ptr, len, &format!("argv[{i}]")) }?;
        cmd.arg(bytes);
    }
    Ok(cmd)
}

/// A command packed into one buffer: argument `i` is the next `lens[i]`
/// bytes of `buf`, and the lengths must add up to `buf_len` exactly. The
/// same bounds as [`arg_command`], checked before any slice is built.
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
    if buf_len > REDKEEP_MAX_COMMAND_BYTES {
        return Err(too_many_bytes("buf_len", buf_len));
    }
    // SAFETY: `lens` has `argc` entries per the caller; `argc` is bounded.
    let lens = unsafe { arg_slice(lens, argc, "lens") }?;
    let total = check_lengths(lens, "lens")?;
    if total != buf_len {
        return Err(Failure::invalid(format!(
            "the argument lengths add up to {total} but buf_len is {buf_len}"
        )));
    }
    // SAFETY: `buf` has `buf_len` bytes per the caller; `buf_len` is bounded.
    let buf = unsafe { arg_slice(buf, buf_len, "buf") }?;
    let mut cmd = redis::Cmd::with_capacity(argc, total);
    let mut at = 0;
    for &n in lens {
        cmd.arg(&buf[at..at + n]);
        at += n;
    }
    Ok(cmd)
}

/// `count` byte strings (pub/sub channel names or patterns): `names[i]`
/// points to `lens[i]` bytes. Binary-safe (no UTF-8 needed); `count` may be
/// `0`. The same bounds as [`arg_command`], checked before any slice is
/// built.
///
/// # Safety
/// `names` and `lens` are NULL or valid for `count` elements, and each
/// `names[i]` is NULL or valid for `lens[i]` bytes, all alive for `'a`.
pub(crate) unsafe fn arg_names<'a>(
    names: *const *const u8,
    lens: *const usize,
    count: usize,
) -> Result<Vec<&'a [u8]>, Failure> {
    if count > REDKEEP_MAX_ARGS {
        return Err(Failure::invalid(format!(
            "count is {count}, more than REDKEEP_MAX_ARGS ({REDKEEP_MAX_ARGS})"
        )));
    }
    // SAFETY: `count` entries per the caller; `count` is bounded.
    let ptrs = unsafe { arg_slice(names, count, "names") }?;
    // SAFETY: as above.
    let lens = unsafe { arg_slice(lens, count, "lens") }?;
    check_lengths(lens, "lens")?;
    ptrs.iter()
        .zip(lens)
        .enumerate()
        // SAFETY: each name is valid for its bounded length per the caller.
        .map(|(i, (&ptr, &len))| unsafe { arg_slice(ptr, len, &format!("names[{i}]")) })
        .collect()
}

fn check_argc(argc: usize) -> Result<(), Failure> {
    if argc == 0 {
        return Err(Failure::invalid(
            "argc must be at least 1 (the command name)",
        ));
    }
    if argc > REDKEEP_MAX_ARGS {
        return Err(Failure::invalid(format!(
            "argc is {argc}, more than REDKEEP_MAX_ARGS ({REDKEEP_MAX_ARGS})"
        )));
    }
    Ok(())
}

/// The lengths' sum, if it stays within [`REDKEEP_MAX_COMMAND_BYTES`].
fn check_lengths(lens: &[usize], name: &str) -> Result<usize, Failure> {
    let mut total = 0usize;
    for (i, &len) in lens.iter().enumerate() {
        // Each length is bounded, so the sum of two never overflows.
        if len > REDKEEP_MAX_COMMAND_BYTES || total + len > REDKEEP_MAX_COMMAND_BYTES {
            return Err(too_many_bytes(&format!("{name}[{i}]"), len));
        }
        total += len;
    }
    Ok(total)
}

fn too_many_bytes(name: &str, len: usize) -> Failure {
    Failure::invalid(format!(
        "{name} is {len}: the arguments would add up to more than \
         REDKEEP_MAX_COMMAND_BYTES ({REDKEEP_MAX_COMMAND_BYTES} bytes)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(r: Result<redis::Cmd, Failure>) -> (crate::status::redkeep_status, String) {
        let f = r.expect_err("must be refused");
        (f.status, f.message)
    }

    #[test]
    fn a_wild_argc_is_refused_before_anything_is_read() {
        use crate::status::redkeep_status::REDKEEP_INVALID_ARGUMENT;
        let dangling = std::ptr::NonNull::<usize>::dangling().as_ptr();
        for argc in [usize::MAX, 1 << 60, REDKEEP_MAX_ARGS + 1] {
            // SAFETY: the bound is checked before the pointers are read.
            let (st, msg) = status(unsafe { arg_command(argc, dangling.cast(), dangling) });
            assert_eq!(st, REDKEEP_INVALID_ARGUMENT);
            assert!(msg.contains("REDKEEP_MAX_ARGS"), "{msg}");
            // SAFETY: as above.
            let r = unsafe { arg_packed_command(dangling.cast(), 0, dangling, argc) };
            assert!(status(r).1.contains("REDKEEP_MAX_ARGS"));
        }
    }

    #[test]
    fn a_wild_length_is_refused_before_a_slice_is_built() {
        let arg = b"GET".as_ptr();
        for len in [
            usize::MAX,
            isize::MAX as usize + 1,
            REDKEEP_MAX_COMMAND_BYTES + 1,
        ] {
            let lens = [len];
            // SAFETY: the length is checked before argv[0] is read.
            let (_, msg) = status(unsafe { arg_command(1, &arg, lens.as_ptr()) });
            assert!(msg.contains("REDKEEP_MAX_COMMAND_BYTES"), "{msg}");
            // SAFETY: buf_len is checked before buf is read.
            let r = unsafe { arg_packed_command(arg, len, lens.as_ptr(), 1) };
            assert!(status(r).1.contains("REDKEEP_MAX_COMMAND_BYTES"));
        }
        // Two lengths that are each in bounds but add up past it (and past
        // SIZE_MAX on the way).
        let ptrs = [arg, arg];
        let lens = [REDKEEP_MAX_COMMAND_BYTES, 1];
        // SAFETY: the sum is checked before any argument is read.
        let (_, msg) = status(unsafe { arg_command(2, ptrs.as_ptr(), lens.as_ptr()) });
        assert!(msg.contains("argv_len[1]"), "{msg}");
    }

    #[test]
    fn commands_within_the_bounds_are_built() {
        let buf = b"GETkey";
        let lens = [3, 3];
        // SAFETY: valid buffer and lengths.
        let cmd = unsafe { arg_packed_command(buf.as_ptr(), 6, lens.as_ptr(), 2) }.unwrap();
        assert_eq!(cmd.args_iter().count(), 2);
    }
}
