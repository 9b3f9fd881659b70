//! Shared fixtures: the same scenario on MemFs and on DiskFs, observers from closures.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use engine::fs::{DiskFs, Fs, MemFs, MemFsConfig};
use engine::probe::{Observer, Probe};
use engine::{BuildOutput, Ctx, Engine, EngineConfig, Event, Graph, Target};

/// Which file system a case runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mem,
    Disk,
}

/// A file system of either kind, keeping its temp dir alive.
pub struct World {
    pub kind: Kind,
    pub fs: Arc<dyn Fs>,
    _dir: Option<tempfile::TempDir>,
}

impl World {
    pub fn new(kind: Kind) -> World {
        match kind {
            Kind::Mem => World {
                kind,
                fs: Arc::new(MemFs::new(MemFsConfig::default())),
                _dir: None,
            },
            Kind::Disk => {
                let dir = tempfile::tempdir().unwrap();
                let fs = Arc::new(DiskFs::new(dir.path()).unwrap());
                World {
                    kind,
                    fs,
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn write(&self, path: &str, data: &[u8]) -> &Self {
        self.fs.write(Path::new(path), data).unwrap();
        self
    }

    pub fn engine(&self, targets: Vec<Target>, observer: Option<Arc<dyn Observer>>) -> Arc<Engine> {
        self.engine_with(targets, observer, EngineConfig::default())
    }

    pub fn engine_with(
        &self,
        targets: Vec<Target>,
        observer: Option<Arc<dyn Observer>>,
        config: EngineConfig,
    ) -> Arc<Engine> {
        let mut ctx = Ctx::new(self.fs.clone());
        if let Some(observer) = observer {
            ctx = ctx.with_observer(observer);
        }
        Engine::new(ctx, Graph::new(targets).unwrap(), config)
    }
}

/// Runs `case` on both file systems.
pub fn both(case: impl Fn(&World)) {
    for kind in [Kind::Disk, Kind::Mem] {
        case(&World::new(kind));
    }
}

/// An observer that runs `action` once, at the first probe matching `when`.
pub struct Once<W, A> {
    when: W,
    action: A,
    fired: Mutex<bool>,
}

impl<W, A> Once<W, A>
where
    W: Fn(&Probe<'_>) -> bool + Send + Sync + 'static,
    A: Fn(&dyn Fs) + Send + Sync + 'static,
{
    pub fn arc(when: W, action: A) -> Arc<dyn Observer> {
        Arc::new(Once {
            when,
            action,
            fired: Mutex::new(false),
        })
    }
}

impl<W, A> Observer for Once<W, A>
where
    W: Fn(&Probe<'_>) -> bool + Send + Sync,
    A: Fn(&dyn Fs) + Send + Sync,
{
    fn on(&self, probe: &Probe<'_>, fs: &dyn Fs) {
        let mut fired = self.fired.lock().unwrap();
        if !*fired && (self.when)(probe) {
            *fired = true;
            (self.action)(fs);
        }
    }
}

/// The name of the build's failure, or "ok".
pub fn outcome(out: &BuildOutput) -> String {
    match &out.failure {
        None => "ok".into(),
        Some(f) => format!("{}:{}", f.target, f.error.name()),
    }
}

/// Compact event names, for asserting order.
pub fn event_names(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let v = serde_json::to_value(e).unwrap();
            v["event"].as_str().unwrap().to_string()
        })
        .collect()
}
