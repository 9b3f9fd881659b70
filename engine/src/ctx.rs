//! The shared context every part of one engine works through: file system, observer, trace.

use std::sync::Arc;

use crate::fs::Fs;
use crate::probe::{NoopObserver, Observer, Probe};
use crate::trace::{Event, Trace};

/// File system, probe observer and event trace, cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    /// All I/O goes here.
    pub fs: Arc<dyn Fs>,
    /// Probe points are reported here.
    pub observer: Arc<dyn Observer>,
    /// Events are recorded here.
    pub trace: Arc<Trace>,
    /// Passthrough readers record a change instead of failing on it: Bazel's pipeline, which
    /// reads inputs as they are and guards the cache write afterwards (`crate::guard`).
    pub reads_unverified: bool,
}

impl Ctx {
    /// A context with a no-op observer and a fresh trace.
    pub fn new(fs: Arc<dyn Fs>) -> Self {
        Ctx {
            fs,
            observer: Arc::new(NoopObserver),
            trace: Arc::new(Trace::new()),
            reads_unverified: false,
        }
    }

    /// The same context reporting to `observer`.
    #[cfg(any(test, feature = "test-support"))]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Reports a probe point and lets the observer act before returning.
    #[inline]
    pub fn probe(&self, probe: Probe<'_>) {
        self.observer.on(&probe, &*self.fs);
    }

    /// Records an event.
    #[inline]
    pub fn emit(&self, event: Event) {
        self.trace.push(event);
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("events", &self.trace.len())
            .finish_non_exhaustive()
    }
}
