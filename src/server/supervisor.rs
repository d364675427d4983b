//! The supervisor: one thread per spawned server that reaps it, restarts it
//! after a crash per the [`RestartPolicy`], and gives up with a reason.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::config::RestartPolicy;
use super::graceful::Graceful;
use super::guard::{self, Killer};
use super::launch::{Plan, Running};

/// What a local server is doing now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerStatus {
    /// Another process's Redis, attached to; not supervised.
    Attached,
    /// The spawned server is up (ready: it answered `PONG`).
    Running {
        /// Its process id.
        pid: u32,
    },
    /// The spawned server crashed; the supervisor is restarting it.
    Restarting {
        /// Restarts within the policy's window, this one included.
        attempt: u32,
    },
    /// The supervisor gave up: the server is gone for good.
    Failed {
        /// Why, in one message (crash count and the last error).
        reason: String,
    },
    /// Stopped by [`LocalServer::shutdown`](super::LocalServer::shutdown) or drop.
    Stopped,
}

/// State shared by the supervisor thread and the [`LocalServer`](super::LocalServer).
pub(crate) struct Supervision {
    state: Mutex<State>,
    graceful: Graceful,
    cond: Condvar,
    pub(crate) status: watch::Sender<ServerStatus>,
}

struct State {
    killer: Option<Killer>,
    stopping: bool,
    done: bool,
    restarts: u32,
    last_pid: u32,
}

impl Supervision {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopping(&self) -> bool {
        self.lock().stopping
    }

    /// Total restarts so far.
    pub(crate) fn restarts(&self) -> u32 {
        self.lock().restarts
    }

    /// The pid of the current (or last) server process.
    pub(crate) fn last_pid(&self) -> u32 {
        self.lock().last_pid
    }

    /// SIGKILLs the running server (its process group), as a crash would:
    /// the supervisor then restarts it or gives up, per its policy. For
    /// test deployments that kill a node on purpose.
    pub(crate) fn kill(&self) {
        if let Some(killer) = &self.lock().killer {
            let _ = killer.kill();
        }
    }

    /// Stops the server gracefully — `SHUTDOWN` (`SAVE` with persistence)
    /// over a connection, or SIGTERM if it cannot be reached (on Windows,
    /// which has no SIGTERM, the job is then terminated) — then SIGKILL to
    /// its group (Windows: the job) once `grace` has passed since the stop
    /// began, and waits until the supervisor has reaped it.
    pub(crate) fn stop(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let killer = {
            let mut state = self.lock();
            state.stopping = true;
            self.cond.notify_all();
            state.killer.clone()
        };
        // Outside the lock: the supervisor may reap meanwhile.
        if let Some(killer) = killer {
            if !self.graceful.request() {
                let _ = killer.terminate();
            }
        }
        let mut state = self.lock();
        while !state.done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if !state.done {
            tracing::warn!(grace = ?grace, "redis-server did not stop in time, killing it");
            if let Some(killer) = &state.killer {
                let _ = killer.kill();
            }
            // SIGKILL cannot be ignored; the wait is bounded all the same.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !state.done && Instant::now() < deadline {
                state = self
                    .cond
                    .wait_timeout(state, Duration::from_millis(50))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
    }

    fn finish(&self, status: ServerStatus) {
        let mut state = self.lock();
        state.killer = None;
        state.done = true;
        self.status.send_replace(status);
        self.cond.notify_all();
    }

    /// Waits up to `d` or until a stop is requested; `true` if stopping.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut state = self.lock();
        while !state.stopping {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}

/// Starts the supervisor thread for a ready server.
pub(crate) fn start(
    plan: Plan,
    running: Running,
    policy: RestartPolicy,
) -> std::io::Result<Arc<Supervision>> {
    let pid = running.killer.pid();
    let (status, _) = watch::channel(ServerStatus::Running { pid });
    let graceful = Graceful {
        addr: plan.addr.clone(),
        password: plan.password.clone(),
        tls: plan.tls.clone(),
        save: plan.persistence,
    };
    let sup = Arc::new(Supervision {
        graceful,
        state: Mutex::new(State {
            killer: Some(running.killer.clone()),
            stopping: false,
            done: false,
            restarts: 0,
            last_pid: pid,
        }),
        cond: Condvar::new(),
        status,
    });
    let shared = sup.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("redkeep-supervisor-{pid}"))
        .spawn(move || {
            let last = run(&shared, &plan, running, policy);
            // The run dir goes before anyone hears the server is gone.
            drop(plan);
            shared.finish(last);
        });
    match spawned {
        Ok(_) => Ok(sup),
        Err(e) => {
            // `running` moved into the failed closure and was dropped; the
            // guard's killer is still ours.
            let killer = sup.lock().killer.take();
            if let Some(killer) = killer {
                let _ = killer.kill();
            }
            Err(e)
        }
    }
}

/// Supervises until stopped or given up; returns the final status after the
/// last child was reaped.
fn run(
    sup: &Supervision,
    plan: &Plan,
    mut running: Running,
    policy: RestartPolicy,
) -> ServerStatus {
    let mut restarts_in_window: VecDeque<Instant> = VecDeque::new();
    loop {
        let pid = running.killer.pid();
        let exit = guard::wait(&mut running.child, &running.killer);
        {
            let mut state = sup.lock();
            state.killer = None;
            if state.stopping {
                drop(state);
                tracing::info!(pid, "redis-server stopped");
                return ServerStatus::Stopped;
            }
        }
        let exit = match exit {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        };
        tracing::warn!(pid, %exit, addr = %plan.addr, "redis-server crashed");
        let mut last_error = format!("redis-server (pid {pid}) crashed: {exit}");
        // Restart until one attempt is ready, or the policy runs out.
        running = loop {
            let now = Instant::now();
            while restarts_in_window
                .front()
                .is_some_and(|t| now.duration_since(*t) > policy.window)
            {
                restarts_in_window.pop_front();
            }
            let attempt = restarts_in_window.len() as u32;
            if attempt >= policy.max_restarts {
                let reason = format!(
                    "redis-server at {} gave up after {} restart(s) within {}; last: {}",
                    plan.addr,
                    attempt,
                    crate::util::fmt_duration(policy.window),
                    last_error
                );
                tracing::error!(reason = %reason, "redis-server supervisor gave up");
                return ServerStatus::Failed { reason };
            }
            let delay = policy
                .backoff
                .schedule()
                .nth(attempt as usize)
                .unwrap_or(policy.backoff.max);
            restarts_in_window.push_back(now);
            sup.status.send_replace(ServerStatus::Restarting {
                attempt: attempt + 1,
            });
            tracing::info!(attempt = attempt + 1, delay = ?delay, "restarting redis-server");
            if sup.sleep(delay) {
                return ServerStatus::Stopped;
            }
            let stopping = || sup.stopping();
            match plan.start(&stopping) {
                Ok(mut new) => {
                    let mut state = sup.lock();
                    if state.stopping {
                        drop(state);
                        let _ = new.killer.kill();
                        let _ = guard::wait(&mut new.child, &new.killer);
                        return ServerStatus::Stopped;
                    }
                    state.killer = Some(new.killer.clone());
                    state.restarts += 1;
                    let pid = new.killer.pid();
                    state.last_pid = pid;
                    sup.status.send_replace(ServerStatus::Running { pid });
                    drop(state);
                    tracing::info!(pid, addr = %plan.addr, "redis-server restarted and ready");
                    break new;
                }
                Err(e) => {
                    if sup.stopping() {
                        return ServerStatus::Stopped;
                    }
                    tracing::warn!(error = %e.error, "restarting redis-server failed");
                    last_error = e.error.to_string();
                }
            }
        };
    }
}
