//! The calling-thread set: connections that callers who already block a
//! thread (the C ABI, Python) drive themselves, so a command costs one
//! round trip and no hop to a runtime thread.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::connector::remaining;
use super::core::{Core, Purpose, Stream, Verdict};
use super::thread_conn::{Socket, ThreadConnection};
use crate::error::{Error, Phase, Result};

/// An idle connection and the generation it was opened in.
struct Idle {
    conn: ThreadConnection,
    generation: u64,
    _open: Registration,
}

/// What a call on the calling thread got: a connection of this set, or
/// none because the set is full or this deployment needs the runtime.
pub(crate) enum Outcome {
    /// The reply (or the error) of the command.
    Done(Result<redis::Value>),
    /// Not run: send it through the runtime's shared path instead.
    UseRuntime,
}

/// A command written on a connection of this set whose reply an event loop
/// waits for ([`BlockingConnections::start`]).
pub(crate) struct Written {
    idle: Idle,
    /// The reply's limit (`timeouts.command`).
    pub(crate) timeout: Duration,
}

impl Written {
    /// The socket's descriptor, readable when (part of) the reply is there.
    #[cfg(unix)]
    pub(crate) fn raw_fd(&self) -> std::os::unix::io::RawFd {
        self.idle.conn.raw_fd()
    }
}

/// What [`BlockingConnections::start`] did.
pub(crate) enum Start {
    /// Written: read the reply with [`BlockingConnections::poll`] when the
    /// socket is readable.
    Written(Written),
    /// Failed before a reply could come (fail fast, or the write failed).
    Done(Result<redis::Value>),
    /// No idle connection: use the runtime (and open one for later calls).
    UseRuntime,
    /// A command too large to be written without waiting for the socket
    /// ([`WRITE_AT_ONCE`]): use the runtime.
    TooLarge,
}

/// The largest command [`BlockingConnections::start`] writes: one that fits
/// in a socket's send buffer, so the write never waits for the server.
const WRITE_AT_ONCE: usize = 64 * 1024;

/// Idle connections, most recently used last (LIFO), and a handle on the
/// socket of every open one (idle or in use) so `Pool::close` can end the
/// reads in flight.
pub(crate) struct BlockingConnections {
    idle: Mutex<Vec<Idle>>,
    open: Arc<Registry>,
    /// At most this many open at once; callers beyond it use the runtime.
    cap: usize,
    /// Whether a connection is being opened for [`BlockingConnections::start`].
    filling: AtomicBool,
}

#[derive(Default)]
struct Registry {
    sockets: Mutex<HashMap<u64, Socket>>,
    ids: AtomicU64,
}

/// Keeps a socket in the registry while its connection lives.
struct Registration {
    id: u64,
    registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.registry.sockets).remove(&self.id);
    }
}

impl BlockingConnections {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            open: Arc::new(Registry::default()),
            cap,
            filling: AtomicBool::new(false),
        }
    }

    /// Writes `cmd` on an idle connection without waiting for its reply,
    /// for a caller whose event loop watches the socket. It never waits on
    /// the network: the command fits in the socket's buffer, and with no
    /// idle connection it returns [`Start::UseRuntime`] (see
    /// [`BlockingConnections::fill_one`]).
    pub(crate) fn start(&self, core: &Core, cmd: &redis::Cmd) -> Start {
        if let Err(e) = core.check_available() {
            return Start::Done(Err(e));
        }
        let packed = cmd.get_packed_command();
        if packed.len() > WRITE_AT_ONCE {
            return Start::TooLarge;
        }
        let Some(mut idle) = self.take(core) else {
            return Start::UseRuntime;
        };
        let timeout = core.config.timeouts.command;
        match idle.conn.send_only(&packed, timeout) {
            Ok(()) => Start::Written(Written { idle, timeout }),
            Err(e) => Start::Done(Err(self.failed(core, idle, e, timeout))),
        }
    }

    /// Reads what has come of the reply to [`BlockingConnections::start`]:
    /// `None` while it is incomplete (or `written` is empty); once it is
    /// read, `written` is emptied and the connection goes back to the set
    /// (or is dropped, per its error).
    pub(crate) fn poll(
        &self,
        core: &Core,
        written: &mut Option<Written>,
    ) -> Option<Result<redis::Value>> {
        let result = written.as_mut()?.idle.conn.try_reply()?;
        let Written { idle, timeout } = written.take()?;
        Some(match result {
            Ok(value) => {
                self.put(core, idle);
                value
                    .extract_error()
                    .map_err(|e| Error::from_redis(e, Phase::Command))
            }
            Err(e) => Err(self.failed(core, idle, e, timeout)),
        })
    }

    /// The reply did not come within its timeout: the connection is out of
    /// step and dropped.
    pub(crate) fn expire(&self, core: &Core, written: Written) -> Error {
        let timeout = written.timeout;
        drop(written);
        if core.is_closed() {
            return Error::closed_during_call();
        }
        core.count_dropped();
        Error::timeout(Phase::Command, timeout)
    }

    /// A written command whose caller left (its reply unread): the
    /// connection is out of step and dropped.
    pub(crate) fn abandon(&self, core: &Core, written: Written) {
        drop(written);
        core.count_dropped();
    }

    /// Maps a failed request and decides the connection's fate.
    fn failed(&self, core: &Core, idle: Idle, e: redis::RedisError, timeout: Duration) -> Error {
        if core.is_closed() {
            return Error::closed_during_call();
        }
        let err = if e.is_timeout() {
            Error::timeout(Phase::Command, timeout)
        } else {
            Error::from_redis(e, Phase::Command)
        };
        match core.judge(&err, Stream::Ordered) {
            Verdict::Keep => self.put(core, idle),
            Verdict::Drop => core.count_dropped(),
            Verdict::Broken => core.report_broken(),
        }
        err
    }

    /// Whether [`BlockingConnections::fill_one`] should run now: an
    /// address this set can reach, a pool known to be `Up` (a connect no
    /// caller asked for must not be the one that finds Redis gone and
    /// turns the pool `Down` under a caller's own connect), and no other
    /// fill in progress (the caller then runs it, on a thread that may
    /// block).
    pub(crate) fn claim_fill(&self, core: &Core) -> bool {
        core.connector.thread_target().is_some()
            && core.is_up()
            && !self.filling.swap(true, Ordering::AcqRel)
    }

    /// Opens one connection (through the same gate and deadline as
    /// [`BlockingConnections::send`]) and leaves it idle; ends the claim of
    /// [`BlockingConnections::claim_fill`].
    pub(crate) fn fill_one(&self, core: &Core, runtime: &tokio::runtime::Handle) {
        if let Ok(Some(idle)) = self.connect(core, runtime, None) {
            self.put(core, idle);
        }
        self.filling.store(false, Ordering::Release);
    }

    /// Runs `cmd` on the calling thread. `deadline` (a per-call timeout)
    /// bounds the whole call; each reply is also bounded by
    /// `timeouts.command`. A connection that failed or timed out is
    /// dropped, never reused: its reply stream is out of step.
    pub(crate) fn send(
        &self,
        core: &Core,
        runtime: &tokio::runtime::Handle,
        cmd: &redis::Cmd,
        deadline: Option<Instant>,
    ) -> Outcome {
        if let Err(e) = core.check_available() {
            return Outcome::Done(Err(e));
        }
        let mut idle = match self.take(core) {
            Some(idle) => idle,
            None => match self.connect(core, runtime, deadline) {
                Ok(Some(idle)) => idle,
                Ok(None) => return Outcome::UseRuntime,
                Err(e) => return Outcome::Done(Err(e)),
            },
        };
        let command = core.config.timeouts.command;
        let timeout = deadline.map_or(command, |d| command.min(remaining(d)));
        let result = idle.conn.request(&cmd.get_packed_command(), timeout);
        Outcome::Done(match result {
            Ok(value) => {
                self.put(core, idle);
                value
                    .extract_error()
                    .map_err(|e| Error::from_redis(e, Phase::Command))
            }
            Err(e) => Err(self.failed(core, idle, e, timeout)),
        })
    }

    /// Drops every idle connection; returns how many there were.
    pub(crate) fn clear(&self) -> usize {
        std::mem::take(&mut *lock(&self.idle)).len()
    }

    /// Shuts down every open socket: a thread blocked in a read wakes with
    /// end-of-file at once (for `Pool::close`).
    pub(crate) fn shut_down_all(&self) {
        for socket in lock(&self.open.sockets).values() {
            socket.shutdown();
        }
        self.clear();
    }

    /// Connections open now (idle and in use).
    fn open_count(&self) -> usize {
        lock(&self.open.sockets).len()
    }

    fn take(&self, core: &Core) -> Option<Idle> {
        let mut idle = lock(&self.idle);
        while let Some(candidate) = idle.pop() {
            if core.is_fresh(candidate.generation) {
                return Some(candidate);
            }
            core.count_dropped();
        }
        None
    }

    fn put(&self, core: &Core, conn: Idle) {
        if !core.is_fresh(conn.generation) || core.is_closed() {
            core.count_dropped();
            return;
        }
        lock(&self.idle).push(conn);
    }

    /// Opens a connection through the core's single-flight gate, with
    /// `timeouts.connect` (or an earlier per-call deadline) as a deadline.
    /// `Ok(None)`: the set is full, or TLS needs the runtime.
    fn connect(
        &self,
        core: &Core,
        runtime: &tokio::runtime::Handle,
        deadline: Option<Instant>,
    ) -> Result<Option<Idle>> {
        if self.open_count() >= self.cap {
            return Ok(None);
        }
        let limit = core.config.timeouts.connect;
        let started = Instant::now();
        let connect_deadline = deadline.map_or(started + limit, |d| d.min(started + limit));
        let generation = core.generation();
        let result = (|| -> Result<Option<Idle>> {
            let _gate = core.admit_blocking(runtime, Purpose::Request, connect_deadline)?;
            // Asked after admission: a Sentinel master may have moved.
            let Some(target) = core.connector.thread_target() else {
                return Ok(None);
            };
            let target = &target;
            let mut conn = ThreadConnection::connect(target, connect_deadline)
                .map_err(|e| self.connect_error(core, e.into(), connect_deadline))?;
            let registration = self.register(&conn)?;
            conn.handshake(target, connect_deadline)
                .map_err(|e| self.connect_error(core, e, connect_deadline))?;
            Ok(Some(Idle {
                conn,
                generation,
                _open: registration,
            }))
        })();
        let cut_by_caller = deadline.is_some_and(|d| d < started + limit);
        let result = match result {
            Err(_) if core.is_closed() => return Err(Error::closed_during_call()),
            // The caller's own timeout ran out first: that says nothing
            // about Redis (as on the async path, where it cancels the connect).
            Err(e) if e.is_timeout() && cut_by_caller => return Err(e),
            other => other,
        };
        if let Ok(None) = result {
            return Ok(None);
        }
        core.record_connect(&result, Purpose::Request);
        result
    }

    fn register(&self, conn: &ThreadConnection) -> Result<Registration> {
        let socket = conn.socket_handle()?;
        let id = self.open.ids.fetch_add(1, Ordering::Relaxed);
        lock(&self.open.sockets).insert(id, socket);
        Ok(Registration {
            id,
            registry: self.open.clone(),
        })
    }

    fn connect_error(&self, core: &Core, e: redis::RedisError, deadline: Instant) -> Error {
        if e.is_timeout() || remaining(deadline).is_zero() {
            core.connect_timed_out()
        } else {
            core.connect_error(e)
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl super::set::ConnectionSet for BlockingConnections {
    fn evict_idle(&self) -> usize {
        self.clear()
    }

    fn size(&self) -> super::set::SetSize {
        super::set::SetSize {
            open: self.open_count(),
            idle: lock(&self.idle).len(),
        }
    }
}
