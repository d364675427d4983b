//! Plain option structs with `*_default` initialisers.

use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

use crate::args::{arg_out, arg_slice, opt_str, write_out};
use crate::error::Failure;
use crate::status::redkeep_status;

/// Where and how to attach to, or start, a local `redis-server`.
///
/// Initialise with [`redkeep_server_options_default`], then set fields.
/// String fields are borrowed for the duration of the call that takes the
/// options; `NULL` means "not set".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct redkeep_server_options {
    /// Host to bind (a loopback address). Default: `NULL` = `"127.0.0.1"`.
    pub host: *const c_char,
    /// TCP port. Default: `6379`; `0` picks a free port.
    pub port: u16,
    /// Listen on a unix socket instead of TCP. Default: `false`.
    pub unix_socket: bool,
    /// With `unix_socket`: the socket path. Default: `NULL` = `redis.sock`
    /// in a private (0700) temporary directory removed on shutdown.
    pub unix_path: *const c_char,
    /// The `redis-server` binary. Default: `NULL` = `$REDKEEP_REDIS_SERVER`,
    /// then `redis-server`, then `valkey-server` on `PATH`.
    pub binary: *const c_char,
    /// Working directory for data and the log. Default: `NULL` = a private
    /// temporary directory removed on shutdown.
    pub dir: *const c_char,
    /// `requirepass` of a spawned server, and the password used to talk to
    /// an attached one. Never logged. Default: `NULL`.
    pub password: *const c_char,
    /// Extra `redis-server` arguments (`{"--maxmemory", "64mb"}`): an array
    /// of `args_len` NUL-terminated strings. Default: `NULL`, `0`.
    pub args: *const *const c_char,
    /// Number of entries in `args`.
    pub args_len: usize,
    /// Keep RDB snapshots and the AOF. Default: `false`.
    pub persistence: bool,
    /// How long a spawned server may take to answer `PONG`, in ms.
    /// Default: `10000`.
    pub ready_timeout_ms: u32,
    /// Restarts of a crashed spawned server allowed within
    /// `restart_window_ms`; `0` never restarts. Default: `5`.
    pub max_restarts: u32,
    /// The window over which restarts are counted, in ms. Default: `60000`.
    pub restart_window_ms: u32,
    /// A TLS-only server with a throwaway CA made in its private directory
    /// (the core's `ServerConfig::tls`): always spawned, never attached,
    /// TCP only; set `port` to `0` for a free one. Clients trust the CA
    /// file that `redkeep_server_ca_cert_path` gives (the pool options'
    /// `tls_ca_file`); the URL is `rediss://`.
    /// Default: `false`.
    pub tls: bool,
    /// How the server is tied to its owner: `"auto"` (the platform's
    /// guard) or `"watchdog"` (a forked watchdog process, unix only).
    /// Default: `NULL` = `"auto"` (and `REDKEEP_GUARD=watchdog` in the
    /// environment selects the watchdog).
    pub guard: *const c_char,
}

/// Options of a pool. Timeouts and intervals are in milliseconds.
///
/// Initialise with [`redkeep_pool_options_default`], then set fields; the
/// defaults are those of the Rust crate and stated on each field.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct redkeep_pool_options {
    /// Most exclusive connections open at once. Default: `16`.
    pub max_size: u32,
    /// Exclusive connections kept open while Redis is up. Default: `0`.
    pub min_idle: u32,
    /// Shared multiplexed connections used by `redkeep_pool_exec`.
    /// Default: `1`.
    pub multiplexed: u32,
    /// Opening one connection, handshake included. Default: `1000`.
    pub connect_timeout_ms: u32,
    /// Waiting for a free exclusive connection. Default: `1000`.
    pub wait_timeout_ms: u32,
    /// Waiting for a reply. Default: `2000`.
    pub command_timeout_ms: u32,
    /// First reconnect delay while Redis is down. Default: `50`.
    pub backoff_initial_ms: u32,
    /// Largest reconnect delay. Default: `2000`.
    pub backoff_max_ms: u32,
    /// Growth factor between delays (at least 1). Default: `2.0`.
    pub backoff_multiplier: f64,
    /// Random fraction of each delay, in `[0, 1]`. Default: `0.5`.
    pub backoff_jitter: f64,
    /// Give up reconnecting after this long without success; `0` never
    /// gives up. Default: `0`.
    pub backoff_max_elapsed_ms: u32,
    /// Time between health probes. Default: `500`.
    pub health_interval_ms: u32,
    /// How long a probe waits for `PONG`. Default: `250`.
    pub health_timeout_ms: u32,
    /// Failed probes in a row that turn the pool down. Default: `2`.
    pub health_failures_before_down: u32,
    /// Build the pool without connecting first (the health watch connects
    /// in the background). Default: `false`: `redkeep_pool_open` fails if
    /// Redis does not answer within `connect_timeout_ms`.
    pub lazy: bool,
    /// If nothing answers at `spawn`'s address, start a local
    /// `redis-server` there, own it, and restart it if it crashes; the pool
    /// then connects to that server (the address and password are the
    /// server's; the URL's database is kept), and `redkeep_pool_close`
    /// stops it. Not with `lazy`. Default: `false`.
    pub spawn_if_absent: bool,
    /// The server to attach to or start when `spawn_if_absent` is set.
    /// Default: as [`redkeep_server_options_default`].
    pub spawn: redkeep_server_options,
    /// TLS: a PEM file with the CA certificate(s) to trust instead of the
    /// built-in web roots. Default: `NULL`.
    ///
    /// Setting any `tls_*` field makes the connection TLS, also for a
    /// `redis://` URL (a `rediss://` URL is TLS without them). A file that
    /// cannot be read makes `redkeep_pool_open` return `REDKEEP_CONFIG`
    /// naming the file; a server certificate the CA does not vouch for,
    /// `REDKEEP_CONNECTION`. Like the other strings, borrowed for the call.
    pub tls_ca_file: *const c_char,
    /// TLS: a PEM file with a client certificate, for servers with
    /// `tls-auth-clients yes` (mutual TLS). Needs `tls_key_file`.
    /// Default: `NULL`.
    pub tls_cert_file: *const c_char,
    /// TLS: a PEM file with the client certificate's private key. Needs
    /// `tls_cert_file`; the key is never logged or put in errors.
    /// Default: `NULL`.
    pub tls_key_file: *const c_char,
    /// TLS without verifying the server's certificate: open to a man in the
    /// middle, so only for tests. Default: `false`.
    pub tls_insecure: bool,
    /// TLS with the defaults (verified against the built-in web roots) even
    /// when no other `tls_*` field is set, also for a `redis://` URL.
    /// Default: `false`.
    pub tls: bool,
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

fn ms_of(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl Default for redkeep_server_options {
    fn default() -> Self {
        let d = redkeep::ServerConfig::default();
        let port = match d.addr {
            redkeep::ServerAddr::Tcp { port, .. } => port,
            redkeep::ServerAddr::Unix(_) => 6379,
        };
        Self {
            host: std::ptr::null(),
            port,
            unix_socket: false,
            unix_path: std::ptr::null(),
            binary: std::ptr::null(),
            dir: std::ptr::null(),
            password: std::ptr::null(),
            args: std::ptr::null(),
            args_len: 0,
            persistence: d.persistence,
            ready_timeout_ms: ms_of(d.ready_timeout),
            max_restarts: d.restart.max_restarts,
            restart_window_ms: ms_of(d.restart.window),
            tls: d.tls,
            guard: std::ptr::null(),
        }
    }
}

impl Default for redkeep_pool_options {
    fn default() -> Self {
        let d = redkeep::Config::default();
        Self {
            max_size: u32::try_from(d.pool.max_size).unwrap_or(u32::MAX),
            min_idle: u32::try_from(d.pool.min_idle).unwrap_or(u32::MAX),
            multiplexed: u32::try_from(d.pool.multiplexed).unwrap_or(u32::MAX),
            connect_timeout_ms: ms_of(d.timeouts.connect),
            wait_timeout_ms: ms_of(d.timeouts.wait),
            command_timeout_ms: ms_of(d.timeouts.command),
            backoff_initial_ms: ms_of(d.backoff.initial),
            backoff_max_ms: ms_of(d.backoff.max),
            backoff_multiplier: d.backoff.multiplier,
            backoff_jitter: d.backoff.jitter,
            backoff_max_elapsed_ms: d.backoff.max_elapsed.map_or(0, ms_of),
            health_interval_ms: ms_of(d.health.interval),
            health_timeout_ms: ms_of(d.health.timeout),
            health_failures_before_down: d.health.failures_before_down,
            lazy: false,
            spawn_if_absent: false,
            spawn: redkeep_server_options::default(),
            tls_ca_file: std::ptr::null(),
            tls_cert_file: std::ptr::null(),
            tls_key_file: std::ptr::null(),
            tls_insecure: false,
            tls: false,
        }
    }
}

impl redkeep_server_options {
    /// The Rust configuration; reads the borrowed strings.
    ///
    /// # Safety
    /// The string fields are NULL or valid NUL-terminated strings, and
    /// `args` is valid for `args_len` entries.
    pub(crate) unsafe fn server_config(&self) -> Result<redkeep::ServerConfig, Failure> {
        // SAFETY (all `opt_str`/`arg_slice` below): the caller guarantees
        // the pointers per this function's contract.
        let addr = if self.unix_socket {
            let path = unsafe { opt_str(self.unix_path, "server options unix_path") }?;
            redkeep::ServerAddr::Unix(path.map(PathBuf::from))
        } else {
            let host = unsafe { opt_str(self.host, "server options host") }?;
            redkeep::ServerAddr::Tcp {
                host: host.unwrap_or("127.0.0.1").to_owned(),
                port: self.port,
            }
        };
        let binary = unsafe { opt_str(self.binary, "server options binary") }?.map(PathBuf::from);
        let dir = unsafe { opt_str(self.dir, "server options dir") }?.map(PathBuf::from);
        let password =
            unsafe { opt_str(self.password, "server options password") }?.map(str::to_owned);
        let args = unsafe { arg_slice(self.args, self.args_len, "server options args") }?;
        let args = args
            .iter()
            .enumerate()
            .map(|(i, arg)| {
                let name = format!("server options args[{i}]");
                // SAFETY: each entry is a valid string per the contract.
                unsafe { opt_str(*arg, &name) }?
                    .map(str::to_owned)
                    .ok_or_else(|| Failure::invalid(format!("{name} must not be NULL")))
            })
            .collect::<Result<_, _>>()?;
        let guard = match unsafe { opt_str(self.guard, "server options guard") }? {
            None => redkeep::Guard::Auto,
            Some(name) => redkeep::Guard::parse(name)?,
        };
        // Fields the core adds later keep their defaults.
        #[allow(clippy::needless_update)]
        Ok(redkeep::ServerConfig {
            addr,
            binary,
            args,
            dir,
            persistence: self.persistence,
            password,
            ready_timeout: ms(self.ready_timeout_ms),
            restart: redkeep::RestartPolicy {
                max_restarts: self.max_restarts,
                window: ms(self.restart_window_ms),
                ..redkeep::RestartPolicy::default()
            },
            tls: self.tls,
            guard,
            ..redkeep::ServerConfig::default()
        })
    }
}

impl redkeep_pool_options {
    /// The Rust configuration for `url` (`spawn` is added by the caller
    /// when `spawn_if_absent` is set); reads the borrowed `tls_*` strings.
    ///
    /// # Safety
    /// The `tls_*` string fields are NULL or valid NUL-terminated strings.
    pub(crate) unsafe fn pool_config(&self, url: &str) -> Result<redkeep::Config, Failure> {
        let mut cfg = redkeep::Config::from_url(url);
        // SAFETY: forwarded to the caller.
        cfg.tls = unsafe { self.tls_config() }?;
        cfg.pool.max_size = self.max_size as usize;
        cfg.pool.min_idle = self.min_idle as usize;
        cfg.pool.multiplexed = self.multiplexed as usize;
        cfg.timeouts.connect = ms(self.connect_timeout_ms);
        cfg.timeouts.wait = ms(self.wait_timeout_ms);
        cfg.timeouts.command = ms(self.command_timeout_ms);
        cfg.backoff.initial = ms(self.backoff_initial_ms);
        cfg.backoff.max = ms(self.backoff_max_ms);
        cfg.backoff.multiplier = self.backoff_multiplier;
        cfg.backoff.jitter = self.backoff_jitter;
        cfg.backoff.max_elapsed =
            (self.backoff_max_elapsed_ms > 0).then(|| ms(self.backoff_max_elapsed_ms));
        cfg.health.interval = ms(self.health_interval_ms);
        cfg.health.timeout = ms(self.health_timeout_ms);
        cfg.health.failures_before_down = self.health_failures_before_down;
        // Through the one converter: `REDKEEP_CONFIG`, the setting named the
        // caller's way.
        cfg.validate()?;
        Ok(cfg)
    }

    /// `Config::tls`: `Some` when `tls` or any `tls_*` field is set (the
    /// core then makes a `redis://` address TLS).
    ///
    /// # Safety
    /// As [`Self::pool_config`].
    unsafe fn tls_config(&self) -> Result<Option<redkeep::TlsConfig>, Failure> {
        // SAFETY (all three): the caller guarantees the pointers.
        let file = |ptr, name| {
            unsafe { opt_str(ptr, name) }
                .map(|path| path.map(|p| redkeep::Pem::File(PathBuf::from(p))))
        };
        // A certificate without its key (or the reverse) is the core's
        // check (`TlsConfig::validate`, through `Config::validate`), which
        // names the fields the caller's way.
        let tls = redkeep::TlsConfig {
            ca_cert: file(self.tls_ca_file, "pool options tls_ca_file")?,
            client_cert: file(self.tls_cert_file, "pool options tls_cert_file")?,
            client_key: file(self.tls_key_file, "pool options tls_key_file")?,
            insecure: self.tls_insecure,
        };
        Ok((self.tls || tls != redkeep::TlsConfig::default()).then_some(tls))
    }
}

/// Fills `*opts` with the defaults (stated on each field).
///
/// Returns `REDKEEP_INVALID_ARGUMENT` if `opts` is `NULL`.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_options_default(
    opts: *mut redkeep_pool_options,
) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        arg_out(opts, "opts")?;
        // SAFETY: non-NULL, and the caller passes writable storage.
        unsafe { write_out(opts, redkeep_pool_options::default()) };
        Ok(())
    })
}

/// Fills `*opts` with the defaults (stated on each field).
///
/// Returns `REDKEEP_INVALID_ARGUMENT` if `opts` is `NULL`.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_server_options_default(
    opts: *mut redkeep_server_options,
) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        arg_out(opts, "opts")?;
        // SAFETY: non-NULL, and the caller passes writable storage.
        unsafe { write_out(opts, redkeep_server_options::default()) };
        Ok(())
    })
}
