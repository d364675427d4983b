//! Connect-or-spawn: a local `redis-server` that never outlives its owner.
//!
//! [`ensure_server`] attaches to the Redis at an address, or starts one
//! there if nothing listens, and supervises what it started.
//!
//! ```no_run
//! # async fn demo() -> redkeep::Result<()> {
//! let server = redkeep::ensure_server(redkeep::ServerConfig::tcp(0)).await?;
//! println!("redis at {} ({:?})", server.redacted_url(), server.origin());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # The orphan guarantee, per platform
//!
//! | owner ends by | Linux | Windows | macOS / other unix |
//! |---|---|---|---|
//! | `shutdown()` / drop | stopped (SIGTERM, SIGKILL after 3 s), reaped | job terminated | stopped, reaped |
//! | panic (unwinding) | drop runs: stopped | stopped | stopped |
//! | panic = abort, `exit()` | killed by the kernel (parent-death signal) | killed (job closed) | **survives** |
//! | SIGTERM / SIGINT, no handler | killed by the kernel | — | **survives** |
//! | SIGTERM / SIGINT, handled | as the handler decides; killed when the process ends | — | as the handler decides |
//! | `kill -9` / `TerminateProcess` | killed by the kernel | killed (job closed) | **survives** |
//!
//! - **Linux.** Children are forked from one library-owned thread that
//!   lives as long as the process, with `PR_SET_PDEATHSIG(SIGKILL)` set
//!   before `exec` and a `getppid()` re-check (if the owner died during the
//!   fork, the child exits at once). The parent-death signal is per *thread*,
//!   so a server spawned from a short-lived thread or a tokio worker is not
//!   killed when that thread ends. The child leads its own process group:
//!   a terminal's Ctrl-C reaches the owner only, which decides.
//! - **Windows.** The child is created suspended, assigned to a Job Object
//!   with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, then resumed; the job handle
//!   is private to the owner, so the system kills the child whenever the
//!   owner's handles close.
//! - **macOS and other unix systems: best effort.** There is no
//!   parent-death signal; the server is stopped on drop, `shutdown` and
//!   unwinding panics, but survives `kill -9` of its owner.
//!
//! A spawned server is always reaped (no zombies), binds only loopback or a
//! unix socket in a private 0700 directory, and its password is written only
//! to a 0600 config file in that directory, removed once the server is up.
//! With [`ServerConfig::tls`](ServerConfig#structfield.tls) (crate feature
//! `tls`) it serves TLS only, with a throwaway CA and server certificate
//! made in that directory (the server key 0600, the CA key never written).

mod addr;
mod binary;
mod certs;
mod config;
mod diagnose;
mod graceful;
mod guard;
mod launch;
mod local;
mod resp;
mod supervisor;
pub mod testing;
mod workdir;

pub use addr::ServerAddr;
pub use config::{Guard, RestartPolicy, ServerConfig};
pub use guard::OwnedChild;
pub use local::{ensure_server, ensure_server_blocking, LocalServer, Origin};
pub use supervisor::ServerStatus;
