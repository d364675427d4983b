//! `redkeep_server`: attach to a local Redis, or spawn one that never
//! outlives this process.

use std::ffi::{c_char, CString};

use crate::args::{arg_out, arg_ref, write_out};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::options::redkeep_server_options;
use crate::runtime::Rt;
use crate::status::redkeep_status;

/// A Redis at a local address: attached to (someone else's, left alone), or
/// spawned by this process and supervised (restarted if it crashes, stopped
/// when the handle is freed, and killed by the kernel if this process dies,
/// even by `kill -9`, on Linux).
///
/// Ownership: created by [`redkeep_server_ensure`], released by
/// [`redkeep_server_free`] or [`redkeep_server_shutdown`]. Strings it
/// returns are borrowed from it. Thread safety: the accessors may be called
/// from several threads at once; freeing must not race with them.
pub struct redkeep_server {
    server: redkeep::LocalServer,
    url: CString,
    redacted_url: CString,
    addr: CString,
    ca_cert_path: Option<CString>,
}

fn cstring(s: String) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// Attaches to the Redis at `opts`'s address, or starts a `redis-server`
/// there if nothing listens (port `0`: always starts one, on a free port).
///
/// Blocks until the server answers `PONG` (at most `opts->ready_timeout_ms`
/// for a spawned one). Fails with `REDKEEP_SPAWN` when the address is held
/// by something that is not Redis, or when the server cannot start (the
/// message says why, with the tail of its log); `REDKEEP_CONFIG` for a
/// non-loopback host. `cancel` may be `NULL`; when triggered, the call
/// returns `REDKEEP_CANCELLED` at once and a server that comes up later is
/// stopped.
///
/// The spawned server is forked from a library-owned thread that lives as
/// long as the process, so the calling thread may exit afterwards.
///
/// On success `*out` receives a handle owned by the caller. Thread safety:
/// any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_ensure(
    opts: *const redkeep_server_options,
    cancel: *const redkeep_cancel,
    out: *mut *mut redkeep_server,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: NULL or a valid options struct / cancel handle.
        let opts = unsafe { arg_ref(opts, "opts") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: the options' strings are valid per the contract.
        let cfg = unsafe { opts.server_config() }?;
        let server = match cancel {
            None => redkeep::ensure_server_blocking(cfg)?,
            Some(cancel) => {
                let rt = Rt::get()?;
                rt.block_on(with_cancel(Some(cancel), async move {
                    redkeep::ensure_server(cfg).await.map_err(Failure::from)
                }))??
            }
        };
        let handle = redkeep_server {
            url: cstring(server.url()),
            redacted_url: cstring(server.redacted_url()),
            // `host:port` or the socket path, as the core shows it.
            addr: cstring(server.addr().to_string()),
            ca_cert_path: server
                .ca_cert_path()
                .map(|p| cstring(p.to_string_lossy().into_owned())),
            server,
        };
        // SAFETY: as above; the caller owns the handle.
        unsafe { write_out(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// # Safety
/// `server` is NULL or a live handle.
unsafe fn get<'a>(server: *const redkeep_server) -> Option<&'a redkeep_server> {
    // SAFETY: forwarded to the caller.
    unsafe { server.as_ref() }
}

/// The URL to connect with, password included
/// (`redis://:password@127.0.0.1:6379`, `redis+unix:///path?pass=...`).
/// Do not log it: see [`redkeep_server_redacted_url`]. `NULL` for `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_url(server: *const redkeep_server) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }.map_or(std::ptr::null(), |s| s.url.as_ptr())
    })
}

/// The URL with the password replaced by `***`, safe to log. `NULL` for
/// `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_redacted_url(
    server: *const redkeep_server,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }.map_or(std::ptr::null(), |s| s.redacted_url.as_ptr())
    })
}

/// The resolved address: `host:port` (never port 0) or the unix socket's
/// path. `NULL` for `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_addr(server: *const redkeep_server) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }.map_or(std::ptr::null(), |s| s.addr.as_ptr())
    })
}

/// The PEM file of the throwaway CA that signed a TLS server's certificate
/// (`redkeep_server_options.tls`), for a client's `tls_ca_file` (or
/// `redis-cli --tls --cacert`); removed with the server. `NULL` for a
/// server without TLS, or for `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_ca_cert_path(
    server: *const redkeep_server,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }
            .and_then(|s| s.ca_cert_path.as_ref())
            .map_or(std::ptr::null(), |p| p.as_ptr())
    })
}

/// Whether this process started the server (`false`: attached, or `NULL`).
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_spawned(server: *const redkeep_server) -> bool {
    ffi_value!(false, {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }
            .is_some_and(|s| matches!(s.server.origin(), redkeep::Origin::Spawned { .. }))
    })
}

/// The spawned server's current process id; `0` for an attached server,
/// while a crashed one restarts, after it stopped, or for `NULL`.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_pid(server: *const redkeep_server) -> u32 {
    ffi_value!(0, {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }
            .and_then(|s| s.server.pid())
            .unwrap_or(0)
    })
}

/// How many times the supervisor restarted a crashed spawned server.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_restarts(server: *const redkeep_server) -> u32 {
    ffi_value!(0, {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(server) }.map_or(0, |s| s.server.restarts())
    })
}

/// Stops a spawned server and waits until it is gone (SIGTERM, SIGKILL
/// after 3 s; always reaped); an attached one is left alone. Then releases
/// the handle, whatever the outcome. `NULL` is `REDKEEP_INVALID_ARGUMENT`.
///
/// Thread safety: no other call may use the handle during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_shutdown(
    server: *mut redkeep_server,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        if server.is_null() {
            return Err(Failure::invalid("server must not be NULL"));
        }
        // SAFETY: came from Box::into_raw in redkeep_server_ensure; freed once.
        let handle = unsafe { Box::from_raw(server) };
        handle.server.stop_blocking();
        drop(handle);
        Ok(())
    })
}

/// Releases the handle; a spawned server is stopped first (as
/// [`redkeep_server_shutdown`]). `NULL` is a no-op.
///
/// Thread safety: no other call may use the handle during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_free(server: *mut redkeep_server) {
    ffi_value!((), {
        if !server.is_null() {
            // SAFETY: came from Box::into_raw in redkeep_server_ensure; freed once.
            drop(unsafe { Box::from_raw(server) });
        }
    })
}
