//! `redkeep_deployment`: a throwaway local Redis Cluster or Sentinel group
//! for tests, whose processes never outlive this process.

use std::ffi::{c_char, CString};

use crate::args::{arg_out, opt_str, write_out};
use crate::error::{redkeep_error, Failure};
use crate::status::redkeep_status;

/// A local test deployment: a Redis Cluster ([`redkeep_cluster_start`]) or
/// a Sentinel group ([`redkeep_sentinel_start`]). Every process is spawned
/// and made ready by the core, stopped when the handle is freed, and
/// killed by the kernel if this process dies (Linux, Windows).
///
/// Ownership: created by the start functions, released by
/// [`redkeep_deployment_free`]. Strings it returns are borrowed from it.
/// Thread safety: the accessors may be called from several threads at
/// once; freeing must not race with them.
pub struct redkeep_deployment {
    _deployment: Deployment,
    url: CString,
    urls: CString,
    master_name: Option<CString>,
}

/// Held until the handle is freed: dropping it stops every process.
#[allow(dead_code)]
enum Deployment {
    Cluster(redkeep::testing::TestCluster),
    Sentinel(redkeep::testing::TestSentinel),
}

fn cstring(s: String) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// # Safety
/// `out` and `err` as the start functions' contract says.
unsafe fn start(
    redis_server: *const c_char,
    out: *mut *mut redkeep_deployment,
    make: impl FnOnce(Option<std::path::PathBuf>) -> Result<redkeep_deployment, Failure>,
) -> Result<(), Failure> {
    arg_out(out, "out")?;
    // SAFETY: non-NULL and writable per the contract.
    unsafe { write_out(out, std::ptr::null_mut()) };
    // SAFETY: NULL or a NUL-terminated string per the contract.
    let binary = unsafe { opt_str(redis_server, "redis_server") }?.map(Into::into);
    let handle = make(binary)?;
    // SAFETY: as above; the caller owns the handle.
    unsafe { write_out(out, Box::into_raw(Box::new(handle))) };
    Ok(())
}

/// Starts a Redis Cluster of `masters` masters with `replicas_per_master`
/// replicas each on free ports of 127.0.0.1, and blocks until it is ready:
/// every node reports `cluster_state:ok` and the same view, every slot is
/// served, every replica is linked (about 2–3 s for 3 + 3 nodes).
///
/// `redis_server` is the binary, or `NULL` for `$REDKEEP_REDIS_SERVER`,
/// then `redis-server` on `PATH`. Fails with `REDKEEP_SPAWN` (the message
/// says why) if a node cannot start or the cluster is not ready within
/// 30 s; `masters` 0 is an error too.
///
/// On success `*out` receives a handle owned by the caller. Thread safety:
/// any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_cluster_start(
    masters: u32,
    replicas_per_master: u32,
    redis_server: *const c_char,
    out: *mut *mut redkeep_deployment,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        // SAFETY: forwarded to the caller.
        unsafe {
            start(redis_server, out, |binary| {
                let cluster = redkeep::testing::TestCluster::try_start(
                    redkeep::testing::TestClusterConfig {
                        masters: masters as usize,
                        replicas_per_master: replicas_per_master as usize,
                        binary,
                        ..Default::default()
                    },
                )?;
                Ok(redkeep_deployment {
                    url: cstring(cluster.urls()[0].clone()),
                    urls: cstring(cluster.urls().join(",")),
                    master_name: None,
                    _deployment: Deployment::Cluster(cluster),
                })
            })
        }
    })
}

/// Starts a Sentinel group on free ports of 127.0.0.1: a master with
/// `replicas` replicas, and `sentinels` sentinels watching it as
/// `mymaster`; blocks until it is ready (the replicas linked, every
/// sentinel knowing the master, the replicas and the other sentinels).
///
/// `redis_server` as for [`redkeep_cluster_start`]. Fails with
/// `REDKEEP_SPAWN` (the message says why); `sentinels` 0 is an error too.
///
/// On success `*out` receives a handle owned by the caller. Thread safety:
/// any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_sentinel_start(
    replicas: u32,
    sentinels: u32,
    redis_server: *const c_char,
    out: *mut *mut redkeep_deployment,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        // SAFETY: forwarded to the caller.
        unsafe {
            start(redis_server, out, |binary| {
                let group = redkeep::testing::TestSentinel::try_start(
                    redkeep::testing::TestSentinelConfig {
                        replicas: replicas as usize,
                        sentinels: sentinels as usize,
                        binary,
                        ..Default::default()
                    },
                )?;
                Ok(redkeep_deployment {
                    url: cstring(group.url()),
                    urls: cstring(group.urls().join(",")),
                    master_name: Some(cstring(group.master_name().to_owned())),
                    _deployment: Deployment::Sentinel(group),
                })
            })
        }
    })
}

/// # Safety
/// `d` is NULL or a live handle.
unsafe fn get<'a>(d: *const redkeep_deployment) -> Option<&'a redkeep_deployment> {
    // SAFETY: forwarded to the caller.
    unsafe { d.as_ref() }
}

/// The URL to give a pool: a cluster's first node (`redis://…`), or a
/// group's `redis+sentinel://HOST:PORT,…/mymaster` (what `redkeep run`
/// sets as `REDIS_URL`). `NULL` for `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_deployment_url(d: *const redkeep_deployment) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(d) }.map_or(std::ptr::null(), |d| d.url.as_ptr())
    })
}

/// Every cluster node's URL, or every sentinel's, comma-separated
/// (`redis://127.0.0.1:P1,redis://127.0.0.1:P2,…`; `REDIS_CLUSTER_URLS` /
/// `REDIS_SENTINEL_URLS` of `redkeep run`). `NULL` for `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_deployment_urls(d: *const redkeep_deployment) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(d) }.map_or(std::ptr::null(), |d| d.urls.as_ptr())
    })
}

/// The master's name for a Sentinel group (`mymaster`); `NULL` for a
/// cluster or `NULL`.
///
/// Ownership: borrowed from the handle. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_deployment_master_name(
    d: *const redkeep_deployment,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { get(d) }
            .and_then(|d| d.master_name.as_ref())
            .map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

/// Stops every process of the deployment (in parallel), waits until they
/// are gone and releases the handle. `NULL` is a no-op.
///
/// Thread safety: no other call may use the handle during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_deployment_free(d: *mut redkeep_deployment) {
    ffi_value!((), {
        if !d.is_null() {
            // SAFETY: came from Box::into_raw in a start function; freed once.
            drop(unsafe { Box::from_raw(d) });
        }
    })
}
