//! What a wait takes from the core reaches Python even when the wait is
//! cancelled: an asyncio `wait_for` may expire just as a message or line
//! came, after the core handed it over and before it became a Python
//! object. Such an item goes back here, and the next wait gets it first.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

/// Items given back by cancelled waits, first out first.
pub(crate) struct Redelivery<T> {
    returned: Mutex<VecDeque<T>>,
    /// Wakes a wait when an item is given back.
    given_back: tokio::sync::Notify,
}

impl<T> Redelivery<T> {
    pub(crate) fn new() -> Self {
        Self {
            returned: Mutex::default(),
            given_back: tokio::sync::Notify::new(),
        }
    }

    /// The next item within `timeout` (`None` when none came in time): one
    /// given back first, as `given` makes it, else what `source` yields.
    pub(crate) async fn next<R, F>(
        &self,
        timeout: Option<Duration>,
        mut source: impl FnMut() -> F,
        given: impl Fn(T) -> R,
    ) -> Option<R>
    where
        F: Future<Output = R>,
    {
        let wait = async {
            loop {
                // Registered before the look, so a give-back in between wakes it.
                let given_back = self.given_back.notified();
                tokio::pin!(given_back);
                given_back.as_mut().enable();
                if let Some(item) = self.lock().pop_front() {
                    return given(item);
                }
                tokio::select! {
                    out = source() => return out,
                    _ = given_back => {}
                }
            }
        };
        match timeout {
            None => Some(wait.await),
            Some(limit) => tokio::time::timeout(limit, wait).await.ok(),
        }
    }

    /// Puts back an item a cancelled wait took, for the next wait.
    pub(crate) fn give_back(&self, item: T) {
        self.lock().push_front(item);
        self.given_back.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<T>> {
        self.returned.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A wait's `timeout` in seconds from Python: `None` waits without limit.
pub(crate) fn seconds(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Some(Duration::from_secs_f64(t.min(1e9)))),
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be None or a number of seconds >= 0, not {t}"
        ))),
    }
}
