//! The engine: builds targets in dependency order, partitions outputs into passthrough and
//! packed ones, caches, and deletes exec sandboxes.
//!
//! Architecture Invariant: targets of one build run one at a time in `Graph::order`, so the
//! event trace and every outcome are deterministic for a deterministic file system.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::artifact::{Artifact, Content};
use crate::cache::local::reject_duplicates;
use crate::cache::{pack, Manifest, ManifestArtifact, PackEntry, Store, TmpLimits};
use crate::ctx::Ctx;
use crate::drivers::{self, DriverCtx, DriverRun};
use crate::error::{EngineError, Result};
use crate::gate::is_passthrough;
use crate::hash::{bytes_hashout, hashin};
use crate::materialize::{copy_to_end, entries, Delivered};
use crate::probe::Probe;
use crate::target::{Graph, Target};
use crate::trace::Event;
use crate::walker::WalkerCache;

/// The directory under the state directory that holds one sandbox per exec or plugin target.
const SANDBOXES: &str = "sandbox";

/// How blocking file work runs on the async pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Blocking {
    /// On the runtime's worker thread (what starved heph's runtime).
    #[default]
    Inline,
    /// Through `tokio::task::spawn_blocking`.
    SpawnBlocking,
}

/// Engine settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Blocking policy of the async pipeline.
    pub blocking: Blocking,
    /// How the walker cache validates remembered hashes (heph's rule by default).
    pub walker: crate::walker::Policy,
    /// Tmp cache memory limits.
    pub tmp_limits: TmpLimits,
    /// Where the engine keeps its state (cache, tmp spill, sandboxes), relative to the fs root.
    pub state_dir: PathBuf,
    /// false models heph before PR #127: every output is packed.
    pub passthrough: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            blocking: Blocking::Inline,
            walker: crate::walker::Policy::Heph,
            tmp_limits: TmpLimits::default(),
            state_dir: ".heph".into(),
            passthrough: true,
        }
    }
}

/// What one target's execution yielded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetResult {
    /// Its cache key.
    pub hashin: String,
    /// The key its packed outputs were written under or read from, if any.
    pub cache_key: Option<String>,
    /// True when served from the local cache.
    pub cache_hit: bool,
    /// Result artifacts (passthrough ones by reference, packed ones as Tar).
    pub artifacts: Vec<Artifact>,
    /// What it consumed from its inputs.
    pub delivered: Vec<Delivered>,
}

/// A failed target.
#[derive(Debug)]
pub struct Failure {
    /// The target that failed.
    pub target: String,
    /// Why.
    pub error: EngineError,
}

/// Everything one build did: per-target results in build order, and the first failure.
#[derive(Debug, Default)]
pub struct BuildOutput {
    /// Results in build order.
    pub results: Vec<(String, TargetResult)>,
    /// The failure that stopped the build, if any.
    pub failure: Option<Failure>,
    /// Position in `results` of each target recorded by the engine, so collecting a target's
    /// inputs does not rescan every result (which made a build quadratic in its targets).
    recorded: BTreeMap<String, usize>,
}

impl BuildOutput {
    /// The result of `target`, if it was built.
    pub fn get(&self, target: &str) -> Option<&TargetResult> {
        self.results
            .iter()
            .find(|(name, _)| name == target)
            .map(|(_, r)| r)
    }

    /// The requested target's result, or the failure.
    #[cfg(any(test, feature = "test-support"))]
    pub fn into_result(mut self) -> Result<TargetResult> {
        if let Some(failure) = self.failure {
            return Err(failure.error);
        }
        self.results
            .pop()
            .map(|(_, r)| r)
            .ok_or_else(|| EngineError::Graph("empty build".into()))
    }
}

/// The reference engine.
pub struct Engine {
    ctx: Ctx,
    graph: Graph,
    config: EngineConfig,
    walker: WalkerCache,
    store: Store,
    /// `<state_dir>/sandbox`: one sandbox per exec or plugin target.
    sandboxes: PathBuf,
    /// The tmp keys handed out, one target's each.
    tmp_keys: crate::tmpkey::TmpKeys,
}

impl Engine {
    /// An engine over `ctx` for `graph`.
    pub fn new(ctx: Ctx, graph: Graph, config: EngineConfig) -> Arc<Self> {
        let store = Store::new(
            ctx.fs.clone(),
            &config.state_dir.join("cache"),
            &config.state_dir.join("tmp"),
            config.tmp_limits,
        );
        let walker = WalkerCache::new(config.walker);
        let sandboxes = config.state_dir.join(SANDBOXES);
        Arc::new(Engine {
            sandboxes,
            ctx,
            graph,
            config,
            walker,
            store,
            tmp_keys: crate::tmpkey::TmpKeys::default(),
        })
    }

    /// The shared context.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The caches.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The local cache.
    #[cfg(any(test, feature = "test-support"))]
    pub fn local_cache(&self) -> &crate::cache::LocalCache {
        &self.store.local
    }

    /// The sandbox directory of an exec or plugin target.
    #[cfg(any(test, feature = "test-support"))]
    pub fn sandbox_dir(&self, target: &str) -> PathBuf {
        self.sandboxes.join(target)
    }

    /// What drivers get of this engine.
    pub fn driver_ctx(&self) -> DriverCtx<'_> {
        DriverCtx {
            ctx: &self.ctx,
            walker: &self.walker,
            store: &self.store,
            sandboxes: &self.sandboxes,
        }
    }

    /// Starts a build of `name`: the walker learns the build's start time, and the build order
    /// is planned; or the output of a build that failed before it started.
    fn start(&self, name: &str) -> std::result::Result<Vec<String>, Box<BuildOutput>> {
        self.walker.begin_build(self.ctx.fs.now_nanos());
        self.graph.order(name).map_err(|error| {
            Box::new(BuildOutput {
                results: vec![],
                failure: Some(Failure {
                    target: name.into(),
                    error,
                }),
                recorded: BTreeMap::new(),
            })
        })
    }

    /// The result artifacts `target`'s inputs produced so far in `out`.
    fn inputs_of(&self, out: &BuildOutput, target: &str) -> Vec<Artifact> {
        let names = self
            .graph
            .get(target)
            .map(|t| t.inputs.as_slice())
            .unwrap_or_default();
        input_artifacts(out, names)
    }

    /// Builds `name` and its dependencies on the async runtime, blocking work per the policy.
    pub async fn build(self: &Arc<Self>, name: &str) -> BuildOutput {
        let order = match self.start(name) {
            Ok(order) => order,
            Err(failed) => return *failed,
        };
        let mut out = BuildOutput::default();
        for target in order {
            let inputs = self.inputs_of(&out, &target);
            let result = match self.config.blocking {
                Blocking::Inline => self.run_target(&target, inputs),
                Blocking::SpawnBlocking => {
                    let (engine, name) = (self.clone(), target.clone());
                    tokio::task::spawn_blocking(move || engine.run_target(&name, inputs))
                        .await
                        .unwrap_or_else(|e| Err(EngineError::Task(e.to_string())))
                }
            };
            if !record(&mut out, target, result) {
                break;
            }
        }
        out
    }

    /// Builds `name` synchronously on the calling thread (the simulator's fast path); the same
    /// steps, in the same order, as [`Engine::build`].
    pub fn build_sync(&self, name: &str) -> BuildOutput {
        let order = match self.start(name) {
            Ok(order) => order,
            Err(failed) => return *failed,
        };
        let mut out = BuildOutput::default();
        for target in order {
            let inputs = self.inputs_of(&out, &target);
            let result = self.run_target(&target, inputs);
            if !record(&mut out, target, result) {
                break;
            }
        }
        out
    }

    /// Runs one target whose inputs are built: hashin, cache lookup, driver, cache write.
    pub fn run_target(&self, name: &str, inputs: Vec<Artifact>) -> Result<TargetResult> {
        let target = self.graph.get(name)?;
        let hashouts: Vec<&str> = inputs.iter().map(|a| a.hashout.as_str()).collect();
        let def = match &target.driver {
            crate::target::Driver::Exec { .. } if crate::regressed!(KeyIgnoresDefinition) => vec![],
            driver => driver.def_hash(),
        };
        let key = hashin(target.driver.name(), &def, &hashouts);
        self.ctx.emit(Event::Hashin {
            target: name.into(),
            hashin: key.clone(),
        });
        self.ctx.probe(Probe::AfterHashin {
            target: name,
            hashin: &key,
        });
        if !target.cache.use_tmp_cache() {
            if let Some(hit) = self.cache_hit(name, &key)? {
                return Ok(hit);
            }
        }
        let run = drivers::run(&self.driver_ctx(), target, &inputs)?;
        let refused = self.guard_refuses(target, &inputs, &run);
        self.execute(target, key, run, refused)
    }

    /// Bazel's pipeline: whether its guard keeps this run's outputs out of the local cache.
    fn guard_refuses(&self, target: &Target, inputs: &[Artifact], run: &DriverRun) -> bool {
        let Some(guard) = self.config.walker.guard() else {
            return false;
        };
        if target.cache.use_tmp_cache() || run.outputs.is_empty() {
            return false; // nothing would be cached
        }
        let changed =
            crate::guard::changed_source(&self.ctx, &self.walker, guard, &target.name, inputs);
        if let Some(path) = &changed {
            self.ctx.emit(Event::GuardRefused {
                target: target.name.clone(),
                path: path.clone(),
            });
        }
        changed.is_some()
    }

    fn cache_hit(&self, name: &str, key: &str) -> Result<Option<TargetResult>> {
        self.ctx.probe(Probe::BeforeCacheRead { target: name, key });
        let Some(manifest) = self.store.local.manifest(key)? else {
            return Ok(None);
        };
        for artifact in &manifest.artifacts {
            if !self.store.local.intact(key, artifact)? {
                // A damaged entry is a miss: the target runs again and rewrites it.
                self.ctx.emit(Event::CacheDamaged {
                    target: name.into(),
                    key: key.into(),
                    tar: artifact.tar.clone(),
                });
                return Ok(None);
            }
        }
        self.ctx.emit(Event::CacheHit {
            target: name.into(),
            key: key.into(),
        });
        let artifacts = manifest
            .artifacts
            .iter()
            .map(|a| Artifact {
                group: a.group.clone(),
                kind: a.kind,
                content: Content::Tar(self.store.local.tar_path(key, &a.tar)),
                hashout: a.hashout.clone(),
            })
            .collect();
        Ok(Some(TargetResult {
            hashin: key.into(),
            cache_key: Some(key.into()),
            cache_hit: true,
            artifacts,
            delivered: vec![],
        }))
    }

    /// SPEC §5: passthrough outputs become result artifacts by reference; the rest are packed
    /// into the tmp or local cache; an exec sandbox is deleted afterwards.
    #[cfg(any(test, feature = "test-support"))]
    pub fn execute_and_cache(
        &self,
        target: &Target,
        hashin: String,
        run: DriverRun,
    ) -> Result<TargetResult> {
        self.execute(target, hashin, run, false)
    }

    /// [`Engine::execute_and_cache`]; with `refused` (Bazel's guard found a changed source),
    /// what would go to the local cache goes to the tmp cache, as if uncacheable.
    fn execute(
        &self,
        target: &Target,
        hashin: String,
        run: DriverRun,
        refused: bool,
    ) -> Result<TargetResult> {
        if !crate::regressed!(DuplicateGroupsAccepted) {
            reject_duplicates(&target.name, run.outputs.iter().map(|a| a.group.as_str()))?;
        }
        let use_tmp = target.cache.use_tmp_cache();
        let (passing, packing): (Vec<_>, Vec<_>) = run
            .outputs
            .into_iter()
            .enumerate()
            .partition(|(_, a)| self.config.passthrough && is_passthrough(use_tmp, &a.content));
        let mut results: Vec<(usize, Artifact)> = Vec::with_capacity(passing.len() + packing.len());
        for (index, artifact) in passing {
            self.ctx.emit(Event::Passthrough {
                target: target.name.clone(),
                group: artifact.group.clone(),
            });
            results.push((index, artifact));
        }
        let mut cache_key = None;
        if packing.is_empty() && crate::regressed!(TarsBeforeGate) {
            for (_, artifact) in &results {
                let bytes = pack(&self.pack_entries(&target.name, artifact)?)?;
                self.store
                    .local
                    .put_tar(&hashin, &artifact.tar_name(), &bytes)?;
            }
        }
        if packing.is_empty() && crate::regressed!(WritesEmptyEntries) {
            let key = format!("{hashin}_{}", self.ctx.fs.now_nanos());
            let path = self.store.tmp_path(&key, "empty.tar");
            self.store.tmp.put(&path, Vec::new())?;
        }
        if !packing.is_empty() {
            let to_tmp = use_tmp || refused;
            let key = if to_tmp {
                let now = self.ctx.fs.now_nanos();
                self.tmp_keys.key(&hashin, &target.name, now)
            } else {
                hashin.clone()
            };
            results.extend(self.cache_locally(&target.name, &key, to_tmp, packing)?);
            cache_key = Some(key);
        }
        results.sort_by_key(|(index, _)| *index);
        if let Some(sandbox) = run.sandbox.filter(|_| !crate::regressed!(SandboxKept)) {
            self.delete_sandbox(&target.name, &sandbox)?;
        }
        let artifacts = results.into_iter().map(|(_, a)| a).collect();
        Ok(TargetResult {
            hashin,
            cache_key,
            cache_hit: false,
            artifacts,
            delivered: run.delivered,
        })
    }

    fn cache_locally(
        &self,
        name: &str,
        key: &str,
        use_tmp: bool,
        packing: Vec<(usize, Artifact)>,
    ) -> Result<Vec<(usize, Artifact)>> {
        assert!(
            !packing.is_empty(),
            "no cache write without something to pack"
        );
        self.ctx.emit(Event::CacheWriteStart {
            target: name.into(),
            key: key.into(),
        });
        let mut manifest = Manifest {
            key: key.into(),
            artifacts: Vec::with_capacity(packing.len()),
        };
        let mut packed = Vec::with_capacity(packing.len());
        for (index, artifact) in packing {
            if crate::regressed!(PackAtConsumeTime)
                && matches!(artifact.content, Content::File { .. })
            {
                packed.push((index, artifact));
                continue;
            }
            let bytes = pack(&self.pack_entries(name, &artifact)?)?;
            let tar_hash = crate::hash::checksum(&bytes);
            let tar = artifact.tar_name();
            let path = if use_tmp {
                let path = self.store.tmp_path(key, &tar);
                self.store.tmp.put(&path, bytes)?;
                path
            } else {
                match self.store.local.put_tar(key, &tar, &bytes) {
                    Err(_) if crate::regressed!(CommitDespiteFailedTar) => {
                        self.store.local.tar_path(key, &tar)
                    }
                    other => other?,
                }
            };
            manifest.artifacts.push(ManifestArtifact {
                group: artifact.group.clone(),
                kind: artifact.kind,
                tar,
                hashout: artifact.hashout.clone(),
                tar_hash,
            });
            packed.push((
                index,
                Artifact {
                    content: Content::Tar(path),
                    ..artifact
                },
            ));
        }
        if !use_tmp {
            self.store.local.commit(&manifest)?;
        }
        self.ctx.emit(Event::CacheWriteEnd {
            target: name.into(),
            key: key.into(),
            artifacts: packed.len(),
        });
        self.ctx.probe(Probe::AfterCacheWrite { target: name, key });
        Ok(packed)
    }

    /// The entries an artifact packs to. A File's live bytes are read now and — stricter than
    /// heph, which also takes the live mode — packed with the recorded exec bit and checked
    /// against its hashout, so a cache entry never holds bytes other than those its key names.
    fn pack_entries(&self, target: &str, artifact: &Artifact) -> Result<Vec<PackEntry>> {
        if let Content::File {
            source_path,
            out_path,
            x,
            ..
        } = &artifact.content
        {
            let x = *x;
            let io = |e| EngineError::io(source_path, e);
            let mut file = self.ctx.fs.open(source_path).map_err(io)?;
            self.ctx.probe(Probe::PackRead {
                target,
                path: source_path,
            });
            let data = copy_to_end(&mut file, source_path)?;
            let got = bytes_hashout(&data, x);
            let unchecked = crate::regressed!(PackSkipsLogCheck)
                && artifact.kind == crate::artifact::ArtifactType::Log;
            if got != artifact.hashout && !unchecked {
                return Err(EngineError::io(
                    source_path,
                    changed_at_pack(source_path, &got, &artifact.hashout),
                ));
            }
            return Ok(vec![PackEntry {
                path: out_path.clone(),
                x,
                data,
            }]);
        }
        let mut packed = Vec::new();
        for mut entry in entries(&self.ctx, &self.store, artifact)? {
            let data = copy_to_end(&mut entry.reader, &entry.path)?;
            packed.push(PackEntry {
                path: entry.path,
                x: entry.x,
                data,
            });
        }
        Ok(packed)
    }

    fn delete_sandbox(&self, name: &str, sandbox: &Path) -> Result<()> {
        match self.ctx.fs.remove_dir_all(sandbox) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) if crate::regressed!(SandboxRemovalErrorIgnored) => {}
            Err(e) => return Err(EngineError::io(sandbox, e)),
        }
        self.ctx.emit(Event::SandboxDeleted {
            target: name.into(),
        });
        Ok(())
    }
}

fn changed_at_pack(path: &Path, got: &str, expected: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} was modified after it was hashed, before it was packed: read hash {got}, expected {expected}", path.display()),
    )
}

fn input_artifacts(out: &BuildOutput, inputs: &[String]) -> Vec<Artifact> {
    inputs
        .iter()
        .filter_map(|name| out.recorded.get(name).and_then(|&i| out.results.get(i)))
        .flat_map(|(_, r)| r.artifacts.iter().cloned())
        .collect()
}

fn record(out: &mut BuildOutput, target: String, result: Result<TargetResult>) -> bool {
    match result {
        Ok(result) => {
            out.recorded.insert(target.clone(), out.results.len());
            out.results.push((target, result));
            debug_assert_eq!(
                out.recorded.len(),
                out.results.len(),
                "each target is built once"
            );
            true
        }
        Err(error) => {
            out.failure = Some(Failure { target, error });
            false
        }
    }
}
