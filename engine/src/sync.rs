//! Synchronisation primitives behind a `cfg(loom)` shim, so loom models see every interleaving
//! of MemFs and the tmp cache while normal builds use `std`.

#[cfg(loom)]
pub use loom::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::sync::{Arc, Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking thread poisoned it: engine state stays
/// usable, and the panic itself is reported where it happened.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(loom)]
    {
        mutex.lock().unwrap()
    }
    #[cfg(not(loom))]
    {
        mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
