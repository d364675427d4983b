//! C ABI for redkeep (work in progress).
