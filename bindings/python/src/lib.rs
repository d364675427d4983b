//! Python bindings for redkeep: the native module `redkeep._redkeep`.
//!
//! Users import the `redkeep` package (bindings/python/python/redkeep),
//! which re-exports what is defined here.

mod aio;
mod client;
#[cfg(unix)]
mod completion;
mod config;
mod convert;
mod deploy;
mod errors;
#[cfg(unix)]
mod evented;
mod health;
mod monitor;
mod observe;
mod pool;
mod redeliver;
mod runtime;
mod server;
mod subscriber;

use pyo3::prelude::*;

#[pymodule]
fn _redkeep(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<pool::SyncPool>()?;
    // `AsyncPool` is `redkeep.asyncio.Pool`: exported under another name here.
    m.add("AsyncPool", m.py().get_type::<aio::AsyncPool>())?;
    m.add_class::<client::Bridge>()?;
    m.add_class::<client::Exclusive>()?;
    m.add_class::<client::Subscriber>()?;
    m.add_class::<monitor::BridgeMonitor>()?;
    m.add_class::<subscriber::SyncSubscriber>()?;
    m.add(
        "AsyncSubscriber",
        m.py().get_type::<subscriber::AsyncSubscriber>(),
    )?;
    m.add_class::<server::PyServer>()?;
    m.add_function(wrap_pyfunction!(server::ensure_server, m)?)?;
    m.add_class::<deploy::PyDeployment>()?;
    m.add_function(wrap_pyfunction!(deploy::start_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(deploy::start_sentinel, m)?)?;
    m.add_class::<health::PyHealth>()?;
    m.add_class::<health::PyNodeHealth>()?;
    m.add_class::<health::PyStats>()?;
    m.add_function(wrap_pyfunction!(observe::_set_log_callback, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
