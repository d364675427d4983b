//! Python bindings for redkeep: the native module `redkeep._redkeep`.
//!
//! Users import the `redkeep` package (bindings/python/python/redkeep),
//! which re-exports what is defined here.

mod aio;
#[cfg(unix)]
mod completion;
mod config;
mod convert;
mod errors;
#[cfg(unix)]
mod evented;
mod health;
mod pool;
mod runtime;
mod server;

use pyo3::prelude::*;

#[pymodule]
fn _redkeep(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<pool::SyncPool>()?;
    // `AsyncPool` is `redkeep.asyncio.Pool`: exported under another name here.
    m.add("AsyncPool", m.py().get_type::<aio::AsyncPool>())?;
    m.add_class::<server::PyServer>()?;
    m.add_function(wrap_pyfunction!(server::ensure_server, m)?)?;
    m.add_class::<health::PyHealth>()?;
    m.add_class::<health::PyStats>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
