//! Python bindings for redkeep (work in progress).
