//! Forwards the library's `tracing` events to another language's logging
//! (feature `log-forward`, used by the C ABI for Go's `log/slog` and by the
//! Python binding for `logging`).
//!
//! [`set_sink`] installs, once, a process-wide `tracing` subscriber whose
//! one layer turns each event at or above the chosen level into a
//! [`Record`] and hands it to a dedicated thread, `redkeep-log`, which
//! calls the sink. The sink therefore never runs inside the library's
//! locks, and a slow or re-entrant sink (one that calls back into a pool)
//! cannot stall or deadlock a pool: when the queue is full, records are
//! dropped and counted ([`dropped`]).

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// One library event, ready for another language's logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its level.
    pub level: Level,
    /// The module that logged it, e.g. `redkeep::pool::core`.
    pub target: String,
    /// The message.
    pub message: String,
    /// The pool's redacted address, from the event or an enclosing span.
    pub pool: Option<String>,
    /// The innermost enclosing span (`connect`, `reconnect`), if any.
    pub span: Option<String>,
    /// The other fields, in order: `(name, value)`.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The fields as `name=value` pairs separated by spaces (values with
    /// spaces quoted), for a logger that takes one string.
    pub fn fields_text(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            if !out.is_empty() {
                out.push(' ');
            }
            if v.contains([' ', '"', '=']) || v.is_empty() {
                let _ = write!(out, "{k}={v:?}");
            } else {
                let _ = write!(out, "{k}={v}");
            }
        }
        out
    }
}

/// What receives the records, on the `redkeep-log` thread.
pub type Sink = Box<dyn Fn(&Record) + Send + Sync>;

/// The queue between the events and the `redkeep-log` thread.
const QUEUE: usize = 4096;

/// Level filter: 0 = off, 1 = error … 5 = trace.
static MIN_LEVEL: AtomicU8 = AtomicU8::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SINK: RwLock<Option<Arc<Sink>>> = RwLock::new(None);
static QUEUE_TX: OnceLock<Mutex<Option<SyncSender<Record>>>> = OnceLock::new();

/// Why [`set_sink`] could not install the forwarding subscriber.
#[derive(Debug, thiserror::Error)]
#[error("cannot forward the library's logs: {0}")]
pub struct SetSinkError(String);

fn rank(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Sends the library's events at `min_level` and above to `sink`
/// (replacing any earlier sink); `None` stops forwarding. The first call
/// installs the process-wide `tracing` subscriber and starts the
/// `redkeep-log` thread; it fails if the process already has another
/// global subscriber (a Rust program should install its own subscriber
/// instead and needs none of this).
pub fn set_sink(sink: Option<Sink>, min_level: Level) -> Result<(), SetSinkError> {
    let off = sink.is_none();
    install()?;
    let old = std::mem::replace(
        &mut *SINK.write().unwrap_or_else(|p| p.into_inner()),
        sink.map(Arc::new),
    );
    // Dropped outside the lock (a sink may own a foreign object).
    drop(old);
    MIN_LEVEL.store(if off { 0 } else { rank(min_level) }, Ordering::Release);
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

/// Records dropped because the sink fell behind by more than the queue.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn install() -> Result<(), SetSinkError> {
    let mut result = Ok(());
    QUEUE_TX.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel::<Record>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("redkeep-log".into())
            .spawn(move || {
                for record in rx {
                    // Not called under the lock: a sink that waits (for
                    // Python's GIL, say) must not block `set_sink`.
                    let sink = SINK.read().unwrap_or_else(|p| p.into_inner()).clone();
                    if let Some(sink) = sink {
                        // A panicking sink loses its record, not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            sink(&record)
                        }));
                    }
                }
            });
        if let Err(e) = spawned {
            result = Err(SetSinkError(format!("cannot start the log thread: {e}")));
            return Mutex::new(None);
        }
        let subscriber = tracing_subscriber::registry().with(Forward);
        if let Err(e) = tracing::subscriber::set_global_default(subscriber) {
            result = Err(SetSinkError(e.to_string()));
        }
        Mutex::new(Some(tx))
    });
    result
}

/// The layer: filters by [`MIN_LEVEL`], remembers `pool` on spans, queues events.
struct Forward;

/// A span's `pool` field.
struct PoolOf(String);

impl<S> Layer<S> for Forward
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        // Asked again on every event: the level can change at any time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        rank(*metadata.level()) <= MIN_LEVEL.load(Ordering::Relaxed)
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut v = Fields::default();
        attrs.record(&mut v);
        if let (Some(pool), Some(span)) = (v.pool, ctx.span(id)) {
            span.extensions_mut().insert(PoolOf(pool));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut v = Fields::default();
        event.record(&mut v);
        let mut span_name = None;
        let mut pool = v.pool;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                span_name.get_or_insert_with(|| span.name().to_owned());
                if pool.is_none() {
                    pool = span.extensions().get::<PoolOf>().map(|p| p.0.clone());
                }
            }
        }
        let record = Record {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message: v.message,
            pool,
            span: span_name,
            fields: v.fields,
        };
        let tx = QUEUE_TX
            .get()
            .and_then(|m| m.lock().ok().and_then(|g| g.clone()));
        if let Some(tx) = tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(record) {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    pool: Option<String>,
    fields: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "pool" => self.pool = Some(value),
            name => self.fields.push((name.to_owned(), value)),
        }
    }
}
