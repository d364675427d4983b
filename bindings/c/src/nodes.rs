//! Per-node health of a Cluster pool: `redkeep_pool_health_nodes`.

use std::ffi::c_char;

use crate::args::{arg_out, arg_ref, write_out};
use crate::error::Failure;
use crate::pool::{c_text, redkeep_pool, redkeep_state};
use crate::status::redkeep_status;

/// One node of a Cluster, as the health watch last saw it (no pointers
/// inside: copy it freely).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct redkeep_node_health {
    /// `REDKEEP_STATE_UP` or `REDKEEP_STATE_DOWN`.
    pub state: redkeep_state,
    /// Whether it is a primary (serves slots); `false` for a replica.
    pub primary: bool,
    /// `host:port`, as the cluster names it: NUL-terminated, truncated to
    /// fit.
    pub addr: [c_char; 256],
    /// Why its last probe failed: NUL-terminated UTF-8, truncated to fit,
    /// empty if none. Never contains a password.
    pub last_error: [c_char; 256],
}

/// Copies the health of each node of a Cluster pool (primaries and
/// replicas, from the last slot map) into `out[0..cap]`, and writes the
/// number of nodes into `*count` (which may exceed `cap`: call again with
/// a larger array). A pool on one server or a Sentinel group has 0 nodes.
/// `out` may be `NULL` when `cap` is 0. A snapshot of its own, apart from
/// [`redkeep_pool_health`](crate::redkeep_pool_health)'s.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_health_nodes(
    pool: *const redkeep_pool,
    out: *mut redkeep_node_health,
    cap: usize,
    count: *mut usize,
) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        arg_out(count, "count")?;
        if cap > 0 && out.is_null() {
            return Err(Failure::invalid("out must not be NULL when cap > 0"));
        }
        let nodes = pool.pool.health().nodes;
        for (i, node) in nodes.iter().take(cap).enumerate() {
            let entry = redkeep_node_health {
                state: redkeep_state::from_core(node.state),
                primary: node.primary,
                addr: c_text(&node.addr),
                last_error: c_text(node.last_error.as_deref().unwrap_or("")),
            };
            // SAFETY: out is valid for `cap` writes per the contract, i < cap.
            unsafe { write_out(out.add(i), entry) };
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(count, nodes.len()) };
        Ok(())
    })
}
