//! The fast path: a few multiplexed connections shared by all callers.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::future::Either;
use redis::aio::ConnectionLike;
use redis::RedisFuture;
use tokio::sync::Mutex;
use tokio::time::error::Elapsed;
use tokio::time::Timeout;

use super::connector::{EndOnDrop, Link, Opened, Use};
use super::core::{Core, Purpose};
use crate::error::Result;

/// A live connection, the generation it was opened in, and a number naming
/// it among the connections of this set.
///
/// Dropped (out of its slot, by an eviction, a newer generation or
/// `Pool::close`), it shuts the connection down when the pool owns it: the requests
/// still in flight on it fail at once.
struct Live {
    conn: Link,
    ends: Option<EndOnDrop>,
    generation: u64,
    id: u64,
}

/// A shared connection lent to one call: its own handle on the multiplexed
/// connection, and which connection it is, to evict it if it breaks. Its
/// requests go through [`Picked::request`], which bounds their replies.
pub(crate) struct Picked {
    conn: Link,
    /// Whether the caller waited for a connect (the slot was empty or stale).
    pub(crate) waited: bool,
    /// Whether `Pool::close` ends a request in flight on it by itself (the
    /// pool owns the connection); if not, the caller must watch for close.
    pub(crate) ends_on_close: bool,
    index: usize,
    id: u64,
    /// How long a reply may take: the pool's `timeouts.command`.
    limit: Duration,
}

impl Picked {
    /// Sends `cmd` and waits for its reply for up to `timeouts.command`.
    ///
    /// ## Behavior
    ///
    /// Never re-sent. At the limit the call fails with an I/O `TimedOut`
    /// error (as redis-rs's own reply timeout does) and the connection
    /// stays: the late reply, when it comes, is read and dropped. Shared
    /// connections have no reply timeout of their own (the pool's own,
    /// [`Link::Own`], none at all; redis-rs's over TLS are opened without
    /// one): this is the single timer of each call.
    ///
    /// Its output is `Err(Elapsed)` at the limit: [`timed_out`] makes that
    /// the error. (Returned as tokio's `Timeout` itself, no combinator or
    /// `async fn` around it: each layer would copy the request's future
    /// once more.)
    pub(crate) fn request<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> Timeout<Either<RedisFuture<'a, redis::Value>, super::mux::Request<'a>>> {
        let request = match &mut self.conn {
            Link::Redis(conn) => Either::Left(conn.req_packed_command(cmd)),
            Link::Own(mux) => Either::Right(mux.request(cmd)),
        };
        tokio::time::timeout(self.limit, request)
    }

    /// [`Picked::request`] for `count` replies of a pipeline from `offset`.
    pub(crate) fn request_pipeline<'a>(
        &'a mut self,
        pipe: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> Timeout<impl Future<Output = redis::RedisResult<Vec<redis::Value>>> + 'a> {
        let replies = match &mut self.conn {
            Link::Redis(conn) => Either::Left(conn.req_packed_commands(pipe, offset, count)),
            Link::Own(mux) => Either::Right(mux.pipeline(pipe, offset, count)),
        };
        tokio::time::timeout(self.limit, replies)
    }
}

/// A [`Picked::request`] past its limit, as redis-rs reports its own reply
/// timeout: an I/O `TimedOut` error.
pub(crate) fn timed_out<T>(_: Elapsed) -> redis::RedisResult<T> {
    Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into())
}

/// One shared connection, replaced at most once per failure.
struct Slot {
    current: ArcSwapOption<Live>,
    /// Single flight per slot: callers that find it empty wait for one connect.
    connecting: Mutex<()>,
}

/// The set of shared multiplexed connections, used round-robin.
pub(crate) struct SharedConnections {
    slots: Box<[Slot]>,
    next: AtomicUsize,
    ids: AtomicU64,
}

impl SharedConnections {
    pub(crate) fn new(count: usize) -> Self {
        let slots = (0..count)
            .map(|_| Slot {
                current: ArcSwapOption::empty(),
                connecting: Mutex::new(()),
            })
            .collect();
        Self {
            slots,
            next: AtomicUsize::new(0),
            ids: AtomicU64::new(0),
        }
    }

    /// A current connection from the next slot, connecting it if empty or
    /// stale.
    ///
    /// The fast path writes to no memory shared between callers (no
    /// round-robin counter with a single slot, no reference count: the slot
    /// is read through an `arc-swap` guard), only the handle's own clone.
    pub(crate) async fn pick(&self, core: &Core) -> Result<Picked> {
        let index = match self.slots.len() {
            1 => 0,
            n => self.next.fetch_add(1, Ordering::Relaxed) % n,
        };
        {
            let guard = self.slots[index].current.load();
            if let Some(live) = guard.as_ref().filter(|l| is_current(l, core)) {
                return Ok(picked(index, live, false, core));
            }
        }
        // Boxed: connecting is rare, and stays out of every caller's future.
        let _pending = core.metrics.pending();
        let live = Box::pin(core.until_closed(self.live(index, core))).await?;
        Ok(picked(index, &live, true, core))
    }

    /// Connects every slot that is not connected (used by `Pool::connect`).
    ///
    /// Its connects do not turn the pool `Down` or read that state (as the
    /// health watch's do): `Pool::connect` must report why *its* connection
    /// failed, not `Unavailable`.
    ///
    /// Returns the `PING` round trip of the last connection it opened.
    pub(crate) async fn fill(&self, core: &Core) -> Result<Option<Duration>> {
        let mut rtt = None;
        for slot in self.slots.iter() {
            let _single_flight = slot.connecting.lock().await;
            if current(slot, core).is_some() {
                continue;
            }
            let generation = core.generation();
            let (opened, ping) = core.connect_timed(Purpose::Probe, Use::Shared).await?;
            rtt = Some(ping);
            slot.current.store(Some(self.new_live(opened, generation)));
        }
        Ok(rtt)
    }

    fn new_live(&self, opened: Opened, generation: u64) -> Arc<Live> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        Arc::new(Live {
            conn: opened.conn,
            ends: opened.ends,
            generation,
            id,
        })
    }

    async fn live(&self, index: usize, core: &Core) -> Result<Arc<Live>> {
        let slot = &self.slots[index];
        if let Some(live) = current(slot, core) {
            return Ok(live);
        }
        let _single_flight = slot.connecting.lock().await;
        if let Some(live) = current(slot, core) {
            return Ok(live);
        }
        core.check_available()?;
        let generation = core.generation();
        let (opened, _) = core.connect_timed(Purpose::Request, Use::Shared).await?;
        let live = self.new_live(opened, generation);
        slot.current.store(Some(live.clone()));
        Ok(live)
    }

    /// Drops the picked connection from its slot if it is still the one
    /// there (so a thousand callers failing on one connection evict it once).
    pub(crate) fn evict(&self, picked: &Picked) -> bool {
        let slot = &self.slots[picked.index];
        let current = slot.current.load();
        if !matches!(&*current, Some(live) if live.id == picked.id) {
            return false;
        }
        let previous = slot.current.compare_and_swap(&current, None::<Arc<Live>>);
        matches!(&*previous, Some(live) if live.id == picked.id)
    }

    /// Drops every connection; returns how many were open.
    pub(crate) fn clear(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.current.swap(None).is_some())
            .count()
    }
}

fn current(slot: &Slot, core: &Core) -> Option<Arc<Live>> {
    slot.current
        .load_full()
        .filter(|live| is_current(live, core))
}

fn is_current(live: &Live, core: &Core) -> bool {
    core.is_fresh(live.generation)
}

fn picked(index: usize, live: &Live, waited: bool, core: &Core) -> Picked {
    Picked {
        conn: live.conn.clone(),
        waited,
        ends_on_close: live.ends.is_some(),
        index,
        id: live.id,
        limit: core.config.timeouts.command,
    }
}

impl super::set::ConnectionSet for SharedConnections {
    fn evict_idle(&self) -> usize {
        self.clear()
    }

    /// A multiplexed connection is never idle: it is shared by all callers.
    fn size(&self) -> super::set::SetSize {
        let open = self
            .slots
            .iter()
            .filter(|s| s.current.load().is_some())
            .count();
        super::set::SetSize { open, idle: 0 }
    }
}
