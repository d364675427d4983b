//! What every connection set of a pool shows the rest of it: the health
//! watch evicts through this and `Pool::stats` counts through it, without
//! reaching into a set's fields.

/// How many connections a set holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SetSize {
    /// Open now (idle and in use).
    pub(crate) open: usize,
    /// Idle now.
    pub(crate) idle: usize,
}

/// One connection set (shared, exclusive, calling-thread; per node for a
/// cluster): capped by the pool's config, registered with the watch.
pub(crate) trait ConnectionSet: Send + Sync {
    /// Drops every idle connection (Redis went down, or came back in a new
    /// generation); returns how many. Connections in use are dropped when
    /// they come back (their generation is old).
    fn evict_idle(&self) -> usize;

    /// The set's size now.
    fn size(&self) -> SetSize;
}
