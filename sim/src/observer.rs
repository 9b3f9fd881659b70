//! The simulator's observer: updates the shadow at hash and open points, then fires the
//! scenario's mutations at exactly the probe points they name.
//!
//! Architecture Invariant: the shadow is updated before any mutation at the same point fires,
//! so it records what the engine actually hashed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use engine::fs::Fs;
use engine::probe::{Observer, Probe};
use engine::trace::Trace;
use serde::Serialize;

use crate::mutation::{apply, Point};
use crate::scenario::{MutationSpec, Scenario};
use crate::shadow::Shadow;

/// A mutation that fired, for the trace and the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fired {
    /// Index in the scenario's mutation list.
    pub index: usize,
    /// The mutation.
    pub mutation: MutationSpec,
    /// Which build it fired in (1 or 2; between builds counts as 2).
    pub build: u8,
    /// Where it was applied.
    pub path: PathBuf,
    /// How many events of its build had been recorded when it fired (where replay shows it).
    pub at_event: usize,
    /// `None` when applied; the reason when the file was not there to mutate.
    pub skipped: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    shadow: Shadow,
    fired: Vec<Fired>,
    done: Vec<bool>,
    build: u8,
    /// The target whose driver is running (from the last AfterHashin).
    target: String,
}

/// Fires mutations at probe points and keeps the shadow.
pub struct SimObserver {
    paths: Vec<PathBuf>,
    mutations: Vec<MutationSpec>,
    state: Mutex<State>,
    trace: Arc<Trace>,
}

impl SimObserver {
    /// An observer for `scenario`.
    pub fn new(scenario: &Scenario, trace: Arc<Trace>) -> SimObserver {
        let paths = (0..scenario.files.len())
            .map(|i| PathBuf::from(scenario.path(i)))
            .collect();
        let state = State {
            done: vec![false; scenario.mutations.len()],
            build: 1,
            ..State::default()
        };
        SimObserver {
            paths,
            mutations: scenario.mutations.clone(),
            state: Mutex::new(state),
            trace,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts build `build`: fires between-builds mutations first (for build 2), then marks
    /// sources whose bytes changed since their last hash.
    pub fn start_build(&self, build: u8, fs: &dyn Fs) {
        let mut state = self.lock();
        state.build = build;
        if build == 2 {
            self.fire(&mut state, fs, |m| m.point == Point::BetweenBuilds);
        }
        state.shadow.on_build_start(fs);
    }

    /// Runs `f` on the shadow.
    pub fn with_shadow<T>(&self, f: impl FnOnce(&Shadow) -> T) -> T {
        f(&self.lock().shadow)
    }

    /// The mutations fired so far.
    pub fn fired(&self) -> Vec<Fired> {
        self.lock().fired.clone()
    }

    fn fire(&self, state: &mut State, fs: &dyn Fs, matches: impl Fn(&MutationSpec) -> bool) {
        for (index, mutation) in self.mutations.iter().enumerate() {
            if state.done[index] || !matches(mutation) {
                continue;
            }
            state.done[index] = true;
            let path = self.paths[mutation.file].clone();
            let skipped = apply(fs, &path, mutation.kind).err();
            for other in &self.paths {
                state.shadow.on_mutated(fs, other);
            }
            let build = state.build;
            let at_event = self.trace.len();
            state.fired.push(Fired {
                at_event,
                index,
                mutation: *mutation,
                build,
                path,
                skipped,
            });
        }
    }
}

impl Observer for SimObserver {
    fn on(&self, probe: &Probe<'_>, fs: &dyn Fs) {
        let mut state = self.lock();
        match probe {
            Probe::AfterHashin { target, .. } => state.target = target.to_string(),
            Probe::AfterHash { path, hashout } => {
                let target = state.target.clone();
                state.shadow.on_hashed(fs, &target, path, hashout);
            }
            _ => {}
        }
        if self.mutations.is_empty() {
            return;
        }
        let consumer = |k: usize| Scenario::consumer_name(k);
        self.fire(&mut state, fs, |m| {
            m.point.matches(probe, &self.paths[m.file], &consumer)
        });
    }
}
