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
//! | owner ends by | Linux ([`Guard::Auto`]) | any unix with [`Guard::Watchdog`] (the default on macOS, the BSDs) | Windows |
//! |---|---|---|---|
//! | `shutdown()` / drop | `SHUTDOWN`, killed after `stop_timeout`, reaped | the same | `SHUTDOWN`, job terminated after `stop_timeout` |
//! | panic (unwinding) | drop runs: stopped | stopped | stopped |
//! | panic = abort, `exit()` | killed by the kernel (parent-death signal) | killed by the watchdog | killed (job closed) |
//! | SIGTERM / SIGINT, no handler | killed by the kernel | killed by the watchdog | — |
//! | SIGTERM / SIGINT, handled | as the handler decides; killed when the process ends | the same | — |
//! | `kill -9` / `TerminateProcess` | killed by the kernel | killed by the watchdog | killed (job closed) |
//!
//! - **Linux.** Children are forked from one library-owned thread that
//!   lives as long as the process, with `PR_SET_PDEATHSIG(SIGKILL)` set
//!   before `exec` and a `getppid()` re-check (if the owner died during the
//!   fork, the child exits at once). The parent-death signal is per *thread*,
//!   so a server spawned from a short-lived thread or a tokio worker is not
//!   killed when that thread ends. The child leads its own process group:
//!   a terminal's Ctrl-C reaches the owner only, which decides.
//! - **The watchdog** (every unix; the default where there is no
//!   parent-death signal). A forked watchdog process stands between the
//!   owner and the server: it blocks on a pipe only the owner can write,
//!   and when the owner is gone (EOF, however it ended) it kills the
//!   server. It forwards SIGTERM, SIGINT and SIGHUP, exits with the
//!   server's status, and never outlives it; see [`Guard::Watchdog`].
//! - **Windows.** The child is created suspended, assigned to a Job Object
//!   with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, then resumed; the job handle
//!   is private to the owner, so the system kills the child whenever the
//!   owner's handles close.
//!
//! [`OwnedChild`] (any command, not a server) keeps the platform guard: on
//! macOS and the BSDs it is best effort (stopped on drop and unwinding
//! panics, not after `kill -9`).
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
mod deploy;
mod diagnose;
mod graceful;
mod guard;
mod launch;
mod local;
pub(crate) mod pid;
mod resp;
mod supervisor;
pub mod testing;
mod workdir;

pub use addr::ServerAddr;
pub use config::{Guard, RestartPolicy, ServerConfig};
pub use guard::OwnedChild;
pub use local::{ensure_server, ensure_server_blocking, LocalServer, Origin};
pub use supervisor::ServerStatus;
