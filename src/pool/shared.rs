//! The fast path: a few multiplexed connections shared by all callers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

use super::core::{Core, Purpose};
use crate::error::Result;

/// A live connection and the generation it was opened in.
pub(crate) struct Live {
    pub(crate) conn: MultiplexedConnection,
    generation: u64,
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
        }
    }

    /// A current connection from the next slot, connecting it if empty or stale.
    pub(crate) async fn pick(&self, core: &Core) -> Result<(usize, Arc<Live>)> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let live = self.live(index, core).await?;
        Ok((index, live))
    }

    /// Connects every slot that is not connected (used by `Pool::connect`).
    ///
    /// Unlike a request, it connects even if the health watch has just
    /// turned the pool `Down` (the two race at start): `Pool::connect` must
    /// report why *its* connection failed, not `Unavailable`.
    pub(crate) async fn fill(&self, core: &Core) -> Result<()> {
        for slot in self.slots.iter() {
            let _single_flight = slot.connecting.lock().await;
            if current(slot, core).is_some() {
                continue;
            }
            let generation = core.generation();
            let conn = core.connect(Purpose::Probe).await?;
            slot.current.store(Some(Arc::new(Live { conn, generation })));
        }
        Ok(())
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
        let conn = core.connect(Purpose::Request).await?;
        let live = Arc::new(Live { conn, generation });
        slot.current.store(Some(live.clone()));
        Ok(live)
    }

    /// Drops `live` from slot `index` if it is still the one there (so a
    /// thousand callers failing on one connection evict it once).
    pub(crate) fn evict(&self, index: usize, live: &Arc<Live>) -> bool {
        let previous = self.slots[index]
            .current
            .compare_and_swap(&Some(live.clone()), None::<Arc<Live>>);
        matches!(&*previous, Some(p) if Arc::ptr_eq(p, live))
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
        .filter(|live| live.generation == core.generation())
}
