//! Calls whose reply an event loop waits for (Python's asyncio): the
//! command is written on a calling-thread connection at once, and the
//! caller's loop reads the reply when the socket is readable — no hop to a
//! runtime thread and back, and the loop never blocks on the network.

use std::time::Duration;

use redis::{Cmd, Value};

use super::blocking::{Start, Written};
use super::command::{self, CommandClass};
use super::Pool;
use crate::error::Result;

/// What [`Pool::begin_evented`] did with a command.
pub enum Begun {
    /// Written: wait until [`PendingReply::raw_fd`] is readable, then
    /// [`PendingReply::poll`]; call [`PendingReply::expire`] once
    /// [`PendingReply::timeout`] has passed without a reply.
    Written(PendingReply),
    /// Over before any reply could come.
    Finished(Finished),
    /// This call needs the runtime (a blocking command, a command over 64
    /// KiB, no idle calling-thread connection, or TLS): run it with
    /// [`Pool::query_with`].
    UseRuntime(Cmd),
}

/// How an evented call ended.
pub enum Finished {
    /// Its reply, or its error.
    Done(Result<Value>),
    /// A read-only command whose connection dropped: it may be sent once
    /// more, with [`Resend::run`] (on the runtime).
    SendAgain(Resend),
}

/// The one re-send a read-only command is allowed after a dropped
/// connection, over the shared path and never again after that.
pub struct Resend {
    pool: Pool,
    cmd: Cmd,
}

impl Resend {
    /// Sends the command once more (ends with `Closed` if the pool closes).
    pub async fn run(self) -> Result<Value> {
        tracing::debug!("resending a read-only command after a dropped connection");
        self.pool.send(&self.cmd).await
    }
}

/// A command written on a calling-thread connection, its reply not read
/// yet. Dropping it unfinished (its caller was cancelled) drops the
/// connection: the reply still to come would put it out of step.
pub struct PendingReply {
    pool: Pool,
    written: Option<Written>,
    cmd: Cmd,
    class: CommandClass,
}

impl PendingReply {
    /// The socket to watch for readability.
    #[cfg(unix)]
    pub fn raw_fd(&self) -> std::os::unix::io::RawFd {
        match &self.written {
            Some(w) => w.raw_fd(),
            None => -1,
        }
    }

    /// How long the reply may take (`timeouts.command`).
    pub fn timeout(&self) -> Duration {
        self.written
            .as_ref()
            .map_or(self.pool.shared.core.config.timeouts.command, |w| w.timeout)
    }

    /// Reads what the socket has: `None` while the reply is incomplete
    /// (call again when it is readable), then how the call ended. Once
    /// finished, further calls return `None`.
    pub fn poll(&mut self) -> Option<Finished> {
        let shared = &self.pool.shared;
        let result = shared.blocking.poll(&shared.core, &mut self.written)?;
        Some(self.settle(result))
    }

    /// The reply did not come in time: fails with `Timeout(Command)` (or
    /// `Closed` if the pool was closed) and drops the connection.
    pub fn expire(mut self) -> crate::Error {
        match self.written.take() {
            Some(written) => self
                .pool
                .shared
                .blocking
                .expire(&self.pool.shared.core, written),
            None => crate::Error::timeout(crate::Phase::Command, self.timeout()),
        }
    }

    fn settle(&self, result: Result<Value>) -> Finished {
        match result {
            Err(e) if e.allows_resend() && self.class == CommandClass::ReadOnly => {
                Finished::SendAgain(Resend {
                    pool: self.pool.clone(),
                    cmd: self.cmd.clone(),
                })
            }
            other => Finished::Done(other),
        }
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        if let Some(written) = self.written.take() {
            self.pool
                .shared
                .blocking
                .abandon(&self.pool.shared.core, written);
        }
    }
}

impl Pool {
    /// Starts `cmd` for a caller that waits with an event loop: the same
    /// decision as [`Pool::query`] (refused, fail fast while `Down`,
    /// blocking commands on the runtime's exclusive path, a read-only
    /// command re-sent once after a dropped connection, `Pool::close` ends
    /// it), with the reply read by the caller when the socket is readable.
    /// It never waits on the network itself: it writes the command on an
    /// idle calling-thread connection, or, with none idle, returns
    /// [`Begun::UseRuntime`] and opens one in the background (on a
    /// blocking thread of the runtime) for a later call.
    pub fn begin_evented(&self, cmd: Cmd) -> Begun {
        let class = match command::admit(&cmd) {
            Err(e) => return Begun::Finished(Finished::Done(Err(e))),
            Ok(CommandClass::Blocking { .. }) => return Begun::UseRuntime(cmd),
            Ok(class) => class,
        };
        let core = &self.shared.core;
        match self.shared.blocking.start(core, &cmd) {
            Start::Written(written) => Begun::Written(PendingReply {
                pool: self.clone(),
                written: Some(written),
                cmd,
                class,
            }),
            Start::Done(result) => {
                let pending = PendingReply {
                    pool: self.clone(),
                    written: None,
                    cmd,
                    class,
                };
                Begun::Finished(pending.settle(result))
            }
            Start::TooLarge => Begun::UseRuntime(cmd),
            Start::UseRuntime => {
                if self.shared.blocking.claim_fill(core) {
                    let shared = self.shared.clone();
                    self.shared.runtime.spawn_blocking(move || {
                        shared.blocking.fill_one(&shared.core, &shared.runtime);
                    });
                }
                Begun::UseRuntime(cmd)
            }
        }
    }
}
