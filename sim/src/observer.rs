//! The simulator's observer: at each probe point it records in the [`Journal`] what the file
//! system shows the engine, and fires the scenario's mutations at exactly the points they name.
//!
//! Architecture Invariant: what the engine is *about to read* (a hash act) is recorded after the
//! mutations of its point fired; what the engine *just did* (a fresh hash, a materialized
//! sandbox) is recorded before them. The journal is thus exactly what the engine saw.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use engine::fs::{FileKind, Fs};
use engine::probe::{Observer, Probe};
use engine::trace::Trace;
use serde::Serialize;

use crate::faults::Faults;
use crate::journal::{
    list_workspace, live, read_live, snapshot_dir, Change, Damaged, HashAct, HashinSeen, Journal,
    Listing, Snapshot,
};
use crate::mutation::{apply, MutationKind, Point, World};
use crate::scenario::{DirStamp, MutationSpec, Scenario};
use crate::tap::Tap;

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
    journal: Journal,
    fired: Vec<Fired>,
    done: Vec<bool>,
    build: u8,
    /// The target whose driver is running (from the last AfterHashin).
    target: String,
    /// The hash act between its BeforeHash and AfterHash, if any.
    pending: Option<usize>,
    /// Paths whose live state is recorded after every mutation.
    watched: BTreeSet<PathBuf>,
    /// The target packing its outputs, and where in the journal its first pack read came.
    packing: Option<(String, u64)>,
}

/// Fires mutations at probe points and keeps the journal.
pub struct SimObserver {
    paths: Vec<PathBuf>,
    /// Each file's first bytes (what `Undo` writes back).
    originals: Vec<Vec<u8>>,
    mutations: Vec<MutationSpec>,
    glob_targets: BTreeSet<String>,
    state_dir: PathBuf,
    disk_root: Option<PathBuf>,
    tamper: bool,
    /// The file system as it is: faults are for the engine, never for the observer.
    fs: Arc<dyn Fs>,
    faults: Option<Faults>,
    tap: Arc<Tap>,
    clock: Option<engine::fs::MemFs>,
    state: Mutex<State>,
    trace: Arc<Trace>,
}

/// What an observer is made from.
pub struct Setup<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The engine's trace (where replay places each mutation).
    pub trace: Arc<Trace>,
    /// The engine's state directory (cache, tmp spill, sandboxes).
    pub state_dir: &'a Path,
    /// The real directory behind a DiskFs.
    pub disk_root: Option<&'a Path>,
    /// Alter a sandbox file before recording it (the oracle's own teeth test).
    pub tamper: bool,
    /// The file system without faults.
    pub fs: Arc<dyn Fs>,
    /// The faults the engine's file system injects, if any.
    pub faults: Option<Faults>,
    /// The tap on the engine's file system (what torn hash acts read).
    pub tap: Arc<Tap>,
    /// MemFs's logical clock, which a late mutation moves on (on DiskFs time really passes).
    pub clock: Option<engine::fs::MemFs>,
}

impl SimObserver {
    /// An observer as `setup` says.
    pub fn new(setup: Setup) -> SimObserver {
        let scenario = setup.scenario;
        let paths: Vec<PathBuf> = (0..scenario.files.len())
            .map(|i| PathBuf::from(scenario.path(i)))
            .collect();
        let state = State {
            done: vec![false; scenario.mutations.len()],
            build: 1,
            watched: paths.iter().cloned().collect(),
            ..State::default()
        };
        SimObserver {
            paths,
            originals: (0..scenario.files.len())
                .map(|i| scenario.content(i).0)
                .collect(),
            mutations: scenario.mutations.clone(),
            glob_targets: scenario.glob_targets(),
            state_dir: setup.state_dir.to_path_buf(),
            disk_root: setup.disk_root.map(Path::to_path_buf),
            tamper: setup.tamper,
            fs: setup.fs,
            faults: setup.faults,
            tap: setup.tap,
            clock: setup.clock,
            state: Mutex::new(state),
            trace: setup.trace,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts build `build`: fires between-builds mutations first (for build 2).
    pub fn start_build(&self, build: u8) {
        let fs = &*self.fs.clone();
        let mut state = self.lock();
        state.build = build;
        if let Some(faults) = &self.faults {
            faults.set_build(build);
        }
        state.pending = None;
        self.tap.running(build, "");
        if build == 2 {
            self.fire(&mut state, fs, false, |m| m.point == Point::BetweenBuilds);
        }
        // What the engine reads as its build's start, as nothing ticks the clock between here
        // and `Engine::build`.
        state.journal.build_start = fs.now_nanos();
        state.journal.build_started_at = state.journal.now();
    }

    /// The engine's trace this observer places mutations in.
    pub fn trace(&self) -> Arc<Trace> {
        self.trace.clone()
    }

    /// Runs `f` on the journal.
    pub fn with_journal<T>(&self, f: impl FnOnce(&Journal) -> T) -> T {
        f(&self.lock().journal)
    }

    /// The mutations fired so far.
    pub fn fired(&self) -> Vec<Fired> {
        self.lock().fired.clone()
    }

    /// Fires the mutations `matches` selects; `packing`: the running target is packing the
    /// outputs of its sandbox.
    fn fire(
        &self,
        state: &mut State,
        fs: &dyn Fs,
        packing: bool,
        matches: impl Fn(&MutationSpec) -> bool,
    ) {
        for (index, mutation) in self.mutations.iter().enumerate() {
            if state.done[index] || !matches(mutation) {
                continue;
            }
            state.done[index] = true;
            if mutation.late {
                self.let_time_pass();
            }
            let path = self.paths[mutation.file].clone();
            let dir = path.parent().unwrap_or(Path::new(""));
            // Only a mutation that restamps its directory needs the directory's mtime before it.
            let dir_was = mutation
                .dir_stamp
                .and_then(|_| fs.metadata(dir).ok())
                .map(|m| m.mtime_ns);
            let target = state.target.clone();
            let world = World {
                paths: &self.paths,
                disk_root: self.disk_root.as_deref(),
                state_dir: &self.state_dir,
                target: &target,
                faults: self.faults.as_ref(),
                pick: mutation.file,
                originals: &self.originals,
                packing,
            };
            let skipped =
                match crate::attacks::apply(fs, mutation.kind, mutation.file, &path, &world) {
                    Some(Ok(damage)) => {
                        if let Some(damage) = damage {
                            let seq = state.journal.tick();
                            let build = state.build;
                            state.journal.damages.push(Damaged {
                                seq,
                                build,
                                path: damage.path,
                            });
                        }
                        None
                    }
                    Some(Err(why)) => Some(why),
                    None => apply(fs, &path, mutation.kind, &world).err(),
                };
            if let (Some(stamp), Some(was)) = (mutation.dir_stamp, dir_was) {
                restamp_dir(fs, dir, stamp, was);
            }
            if record_change(state, fs) {
                self.tap.tear(); // from now on the act's reads are kept byte for byte
            }
            let (build, at_event) = (state.build, self.trace.len());
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

    /// A late mutation's wait: MemFs's clock moves on; on a real disk the time is slept.
    fn let_time_pass(&self) {
        match &self.clock {
            Some(mem) => mem.advance_clock(crate::scenario::LATE_NS),
            None => std::thread::sleep(std::time::Duration::from_nanos(crate::scenario::LATE_NS)),
        }
    }

    /// True when `probe` is a pack read of a file in its target's own sandbox.
    fn sandbox_pack_read(&self, probe: &Probe<'_>) -> bool {
        let Probe::PackRead { target, path } = probe else {
            return false;
        };
        path.starts_with(self.state_dir.join("sandbox").join(target))
    }

    fn tamper_sandbox(&self, fs: &dyn Fs, consumer: &str) {
        let (entries, _) = snapshot_dir(fs, &self.state_dir.join("sandbox").join(consumer));
        if let Some((path, (bytes, _))) = entries.iter().find(|(_, (b, _))| !b.is_empty()) {
            let mut altered = bytes.to_vec();
            altered[0] ^= 0x20;
            let _ = fs.write(
                &self.state_dir.join("sandbox").join(consumer).join(path),
                &altered,
            );
        }
    }

    fn before_hash(&self, state: &mut State, fs: &dyn Fs, path: &Path) {
        if let Some(root) = &self.disk_root {
            let lines = crate::conformance::disagreements(fs, root, path);
            let read = crate::conformance::read_disagreement(fs, root, path);
            conform(state, lines.into_iter().chain(read));
        }
        let read = read_live(fs, path);
        let unreadable = read.as_ref().err().copied();
        let act = HashAct {
            unreadable,
            stat: crate::journal::stat(fs, path),
            ..new_act(state, path, read.ok())
        };
        state.pending = Some(state.journal.acts.len());
        state.journal.acts.push(act);
        self.tap.record(path);
        state.watched.insert(path.to_path_buf());
    }

    fn after_hash(&self, state: &mut State, fs: &dyn Fs, path: &Path, hashout: &str) {
        let now = fs.now_nanos();
        match state.pending.take() {
            Some(i) if state.journal.acts[i].path == path => {
                let act = &mut state.journal.acts[i];
                act.fresh = Some(hashout.to_string());
                act.recorded_at = now;
                if let Some(recording) = self.tap.take(path) {
                    let before = act.before.as_ref().map_or(&[][..], |b| b.bytes.as_slice());
                    act.read = recording.bytes(before).map(Arc::new);
                    act.read_len = Some(recording.read);
                }
            }
            // A fresh hash without its BeforeHash: recorded as an act the oracle knows nothing
            // of before, so any cached answer of it is judged against nothing.
            _ => {
                let act = HashAct {
                    fresh: Some(hashout.to_string()),
                    recorded_at: now,
                    torn: true,
                    ..new_act(state, path, None)
                };
                state.journal.acts.push(act);
            }
        }
    }

    fn after_hashin(&self, state: &mut State, target: &str, hashin: &str) {
        // A target that starts again (a later build) packs afresh.
        state.packing = None;
        let seq = state.journal.tick();
        let seen = HashinSeen {
            seq,
            build: state.build,
            target: target.to_string(),
            hashin: hashin.to_string(),
        };
        state.journal.hashins.push(seen);
        state.target = target.to_string();
        state.pending = None;
        self.tap.running(state.build, target);
    }

    fn after_materialize(&self, state: &mut State, fs: &dyn Fs, consumer: &str) {
        if self.tamper {
            self.tamper_sandbox(fs, consumer);
        }
        let (entries, problems) = snapshot_dir(fs, &self.state_dir.join("sandbox").join(consumer));
        let seq = state.journal.tick();
        let snapshot = Snapshot {
            seq,
            build: state.build,
            consumer: consumer.to_string(),
            entries,
            problems,
        };
        state.journal.snapshots.push(snapshot);
    }
}

/// Keeps what the DiskFs conformance check found (one check more, whatever it found).
fn conform(state: &mut State, lines: impl Iterator<Item = String>) {
    let build = state.build;
    state.journal.conformance_checks += 1;
    for line in lines {
        if state.journal.conformance.len() < crate::conformance::MAX_KEPT {
            state.journal.conformance.push((build, line));
        }
    }
}

/// What the running target did to `path`, at the next journal position.
fn opened(state: &mut State, path: &Path) -> crate::journal::Opened {
    crate::journal::Opened {
        seq: state.journal.tick(),
        build: state.build,
        target: state.target.clone(),
        path: path.to_path_buf(),
    }
}

/// A `(target, key)` record at the next journal position of the running build.
fn written(state: &mut State, target: String, key: String) -> crate::journal::Written {
    crate::journal::Written {
        seq: state.journal.tick(),
        build: state.build,
        target,
        key,
    }
}

/// A hash act of `path` by the running target, with what it was about to read.
fn new_act(state: &mut State, path: &Path, before: Option<crate::journal::Live>) -> HashAct {
    HashAct {
        seq: state.journal.tick(),
        build: state.build,
        target: state.target.clone(),
        path: path.to_path_buf(),
        before,
        unreadable: None,
        stat: None,
        fresh: None,
        recorded_at: 0,
        build_start: state.journal.build_start,
        torn: false,
        read: None,
        read_len: None,
    }
}

/// Bazel's guard is about to check `target`'s sources: what every watched file holds now.
fn before_guard(state: &mut State, fs: &dyn Fs, target: &str) {
    let files = state
        .watched
        .iter()
        .map(|p| (p.clone(), (crate::journal::stat(fs, p), live(fs, p))))
        .collect();
    let guard = crate::journal::GuardSeen {
        seq: state.journal.tick(),
        build: state.build,
        target: target.to_string(),
        files,
    };
    state.journal.guards.push(guard);
}

/// After a mutation: the live state of every watched path, and torn hash acts. True when the
/// pending hash act is torn.
fn record_change(state: &mut State, fs: &dyn Fs) -> bool {
    let now = state
        .watched
        .iter()
        .map(|p| (p.clone(), crate::journal::state(fs, p)))
        .collect();
    let seq = state.journal.tick();
    let build = state.build;
    if let Some(i) = state.pending {
        let act = &mut state.journal.acts[i];
        let before = act.before.as_ref().map(|l| l.fingerprint());
        let after = live(fs, &act.path).map(|l| l.fingerprint());
        act.torn |= before != after;
    }
    state.journal.changes.push(Change { seq, build, now });
    state.pending.is_some_and(|i| state.journal.acts[i].torn)
}

impl Observer for SimObserver {
    fn on(&self, probe: &Probe<'_>, _: &dyn Fs) {
        let fs = &*self.fs.clone();
        let mut state = self.lock();
        if matches!(probe, Probe::BeforeHash { .. }) {
            // The previous act ended (answered from the cache, or failed) without AfterHash.
            state.pending = None;
        }
        match probe {
            Probe::AfterHashin { target, hashin } => self.after_hashin(&mut state, target, hashin),
            Probe::AfterHash { path, hashout } => self.after_hash(&mut state, fs, path, hashout),
            Probe::AfterMaterialize { consumer } => {
                self.after_materialize(&mut state, fs, consumer)
            }
            Probe::AfterCacheWrite { target, key } => {
                let mut written = written(&mut state, target.to_string(), key.to_string());
                // A write is placed where it began (its first pack read): a damage in the
                // middle of it, to a tar already written, is after it and still stands.
                if let Some((_, began)) = state.packing.take().filter(|(t, _)| t == target) {
                    assert!(began < written.seq, "a write begins before it ends");
                    written.seq = began;
                }
                state.journal.writes.push(written);
            }
            Probe::AtEof { path } => {
                let eof = opened(&mut state, path);
                state.journal.eofs.push(eof);
            }
            Probe::BeforeConsume { consumer } => {
                let began = written(&mut state, consumer.to_string(), String::new());
                state.journal.consumes.push(began);
            }
            Probe::AfterReadChunk { path, index: 0 } => {
                let target = state.target.clone();
                let read = written(&mut state, target, path.to_string_lossy().into_owned());
                state.journal.first_reads.push(read);
            }
            Probe::OpenPassthrough { path } | Probe::PackRead { path, .. } => {
                if let Probe::PackRead { target, .. } = probe {
                    if state.packing.as_ref().is_none_or(|(t, _)| t != target) {
                        let began = state.journal.tick();
                        state.packing = Some((target.to_string(), began));
                    }
                }
                let open = opened(&mut state, path);
                state.journal.opens.push(open);
            }
            _ => {}
        }
        if !self.mutations.is_empty() {
            let consumer = |k: usize| Scenario::consumer_name(k);
            let packing = self.sandbox_pack_read(probe);
            self.fire(&mut state, fs, packing, |m| match m.kind {
                // An attack on a sandbox during the pack fires at the pack of the sandbox's
                // own outputs, whichever they are, not at a scenario file's.
                MutationKind::WriteIntoSandbox if m.point == Point::DuringPack => packing,
                _ => m.point.matches(probe, &self.paths[m.file], &consumer),
            });
        }
        match probe {
            Probe::BeforeHash { path } => self.before_hash(&mut state, fs, path),
            // What the guard is about to check: recorded after this point's mutations.
            Probe::BeforeGuard { target } => before_guard(&mut state, fs, target),
            Probe::BeforeCacheRead { target, key } => {
                let lookup = written(&mut state, target.to_string(), key.to_string());
                state.journal.lookups.push(lookup);
            }
            Probe::AfterHashin { target, .. } if self.glob_targets.contains(*target) => {
                if let Some(root) = &self.disk_root {
                    conform(
                        &mut state,
                        crate::conformance::tree_disagreements(fs, root).into_iter(),
                    );
                }
                let seq = state.journal.tick();
                let workspace = list_workspace(fs);
                state.watched.extend(workspace.files.iter().cloned());
                let build = state.build;
                let target = target.to_string();
                let start_clock = state.journal.build_start;
                let exact = (state.journal.changes.last())
                    .is_none_or(|c| c.seq <= state.journal.build_started_at);
                state.journal.listings.push(Listing {
                    seq,
                    build,
                    target,
                    files: workspace.files,
                    dirs: workspace.dirs,
                    clock: fs.now_nanos(),
                    start_clock,
                    exact,
                });
            }
            _ => {}
        }
    }
}

/// Sets `dir`'s mtime as `stamp` says from `was`, its mtime before the mutation; a directory
/// the mutation removed or renamed is left alone.
fn restamp_dir(fs: &dyn Fs, dir: &Path, stamp: DirStamp, was: u64) {
    let mtime = match stamp {
        DirStamp::Restore => was,
        DirStamp::Backdate => was.saturating_sub(1_000_000_000),
    };
    if fs.metadata(dir).is_ok_and(|m| m.kind == FileKind::Dir) {
        // A failure leaves the stamp the file system gave: the journal records what it is.
        let _ = fs.set_mtime(dir, mtime);
    }
}
