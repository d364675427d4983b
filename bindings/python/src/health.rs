//! `Health` and `Stats`: read-only snapshots.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A snapshot of the pool's view of Redis, read without sending a command.
#[pyclass(module = "redkeep", name = "Health", frozen)]
pub(crate) struct PyHealth {
    /// "up", "degraded", "down" or "closed".
    #[pyo3(get)]
    state: &'static str,
    /// When the pool entered this state, as a Unix timestamp (like `time.time()`).
    #[pyo3(get)]
    since: f64,
    /// Why the last probe or connect failed, if one has since the pool was last up.
    #[pyo3(get)]
    last_error: Option<String>,
    /// Round-trip time of the last successful probe, in seconds.
    #[pyo3(get)]
    rtt: Option<f64>,
    /// Failed probes or connects in a row.
    #[pyo3(get)]
    consecutive_failures: u32,
    /// Increments each time the pool goes down.
    #[pyo3(get)]
    generation: u64,
    /// For a Cluster pool, every node the watch probes; empty otherwise.
    nodes: Vec<PyNodeHealth>,
}

/// One node of a Cluster, as the health watch last saw it.
#[pyclass(module = "redkeep", name = "NodeHealth", frozen)]
#[derive(Clone)]
pub(crate) struct PyNodeHealth {
    /// `"host:port"`, as the cluster names it.
    #[pyo3(get)]
    addr: String,
    /// Whether it is a primary (serves slots); `False` for a replica.
    #[pyo3(get)]
    primary: bool,
    /// `"up"` or `"down"`.
    #[pyo3(get)]
    state: &'static str,
    /// Why its last probe failed, if it did.
    #[pyo3(get)]
    last_error: Option<String>,
}

#[pymethods]
impl PyNodeHealth {
    fn __repr__(&self) -> String {
        format!(
            "NodeHealth(addr={:?}, primary={}, state={:?}, last_error={:?})",
            self.addr,
            if self.primary { "True" } else { "False" },
            self.state,
            self.last_error
        )
    }
}

fn state_name(s: redkeep::State) -> &'static str {
    match s {
        redkeep::State::Up => "up",
        redkeep::State::Degraded => "degraded",
        redkeep::State::Down => "down",
        redkeep::State::Closed => "closed",
    }
}

impl PyHealth {
    pub(crate) fn from_core(h: &redkeep::Health) -> Self {
        let state = state_name(h.state);
        let age = Instant::now().saturating_duration_since(h.since);
        let since = SystemTime::now()
            .checked_sub(age)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        Self {
            state,
            since,
            last_error: h.last_error.clone(),
            rtt: h.rtt.map(|d| d.as_secs_f64()),
            consecutive_failures: h.consecutive_failures,
            generation: h.generation,
            nodes: h
                .nodes
                .iter()
                .map(|n| PyNodeHealth {
                    addr: n.addr.clone(),
                    primary: n.primary,
                    state: state_name(n.state),
                    last_error: n.last_error.clone(),
                })
                .collect(),
        }
    }

    /// Before a lazily connected pool exists.
    pub(crate) fn not_connected() -> Self {
        Self::before_built(redkeep::State::Degraded)
    }

    /// A pool closed before it was ever built (once built, the core says).
    pub(crate) fn closed() -> Self {
        Self::before_built(redkeep::State::Closed)
    }

    fn before_built(state: redkeep::State) -> Self {
        Self::from_core(&redkeep::Health {
            state,
            since: Instant::now(),
            last_error: None,
            rtt: None,
            consecutive_failures: 0,
            generation: 0,
            nodes: Vec::new(),
        })
    }
}

#[pymethods]
impl PyHealth {
    /// Whether `state == "up"`.
    #[getter]
    fn is_up(&self) -> bool {
        self.state == "up"
    }

    /// For a Cluster pool, every node the watch probes (primaries and
    /// replicas), as a list of `NodeHealth`; empty for one server or Sentinel.
    #[getter]
    fn nodes(&self) -> Vec<PyNodeHealth> {
        self.nodes.clone()
    }

    fn __repr__(&self) -> String {
        let err = match &self.last_error {
            Some(e) => format!("{e:?}"),
            None => "None".to_owned(),
        };
        let rtt = match self.rtt {
            Some(r) => format!("{r:.6}"),
            None => "None".to_owned(),
        };
        format!(
            "Health(state={:?}, since={:.3}, last_error={err}, rtt={rtt}, consecutive_failures={}, generation={})",
            self.state, self.since, self.consecutive_failures, self.generation
        )
    }
}

macro_rules! stats_class {
    ($($field:ident: $ty:ty, $doc:literal;)*) => {
        /// Pool counters since it was built, plus a snapshot of each connection set.
        #[pyclass(module = "redkeep", name = "Stats", frozen)]
        #[derive(Default)]
        pub(crate) struct PyStats {
            $( #[doc = $doc] #[pyo3(get)] $field: $ty, )*
        }

        impl PyStats {
            pub(crate) fn from_core(s: &redkeep::Stats) -> Self {
                Self { $( $field: s.$field as $ty, )* }
            }
        }

        #[pymethods]
        impl PyStats {
            /// The counters as a plain dict.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                $( d.set_item(stringify!($field), self.$field)?; )*
                Ok(d)
            }

            fn __repr__(&self) -> String {
                let fields: Vec<String> = vec![$( format!("{}={}", stringify!($field), self.$field), )*];
                format!("Stats({})", fields.join(", "))
            }

            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                match other.cast::<PyStats>() {
                    Ok(o) => { let o = o.get(); true $( && self.$field == o.$field )* }
                    Err(_) => false,
                }
            }
        }
    };
}

stats_class! {
    size: u64, "Exclusive connections open now (idle + checked out).";
    idle: u64, "Exclusive connections idle now.";
    waiting: u64, "Callers waiting for an exclusive connection now.";
    checkouts: u64, "Successful checkouts of an exclusive connection.";
    checkout_timeouts: u64, "Checkouts that hit the pool timeout.";
    fast_fails: u64, "Calls refused with UnavailableError because the pool was down.";
    connects: u64, "Connections opened successfully (exclusive, shared and probe).";
    connect_failures: u64, "Connection attempts that failed.";
    reconnects: u64, "Reconnect attempts made by the health watch while down.";
    evicted: u64, "Connections dropped because they broke or predate an outage.";
    probes: u64, "Health probes sent.";
    probe_failures: u64, "Health probes that failed.";
    shared_open: u64, "Shared multiplexed connections open now (they carry the concurrent ordinary commands of redkeep.asyncio.Pool).";
    thread_open: u64, "Calling-thread connections open now, idle or in use (they carry the ordinary commands of Pool.execute, and those of redkeep.asyncio.Pool made one at a time).";
    thread_idle: u64, "Calling-thread connections idle now.";
}

impl PyHealth {
    pub(crate) fn state_name(&self) -> &'static str {
        self.state
    }
}
