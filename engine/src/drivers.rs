//! Drivers (SPEC §3): what each kind of target does when it runs.
//!
//! Architecture Invariant: only fs:file and fs:glob produce `passthrough: true`; exec outputs
//! point into a sandbox and are never flagged; plugin outputs cross the ABI, which drops the flag.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::abi;
use crate::artifact::{Artifact, ArtifactType, Content, View};
use crate::cache::tarball::check_out_path;
use crate::cache::Store;
use crate::ctx::Ctx;
use crate::error::{EngineError, Result};
use crate::fs::FileKind;
use crate::hash::{bytes_hashout, hash_reader, hashin};
use crate::materialize::{materialize, Delivered};
use crate::target::{Driver, ExecOutput, ExecStep, Target};
use crate::trace::ConsumePath;
use crate::walker::WalkerCache;

/// At most this many files are visited by one glob walk.
pub const MAX_GLOB_VISITS: usize = 100_000;
/// At most this deep a glob walk descends.
pub const MAX_GLOB_DEPTH: usize = 64;

/// What running a driver produced.
#[derive(Debug, Default)]
pub struct DriverRun {
    /// Output artifacts, before caching.
    pub outputs: Vec<Artifact>,
    /// What the target consumed from its inputs.
    pub delivered: Vec<Delivered>,
    /// The sandbox to delete after caching, if any.
    pub sandbox: Option<PathBuf>,
}

/// What a driver works with, and nothing else of the engine: the shared context, the walker
/// cache that hashes sources, the caches (for materializing inputs) and where sandboxes live.
///
/// Architecture Invariant: drivers never see the `Engine`: they cannot plan, gate or cache.
#[derive(Clone, Copy)]
pub struct DriverCtx<'a> {
    /// File system, observer and trace.
    pub ctx: &'a Ctx,
    /// Hashes sources (SPEC §2).
    pub walker: &'a WalkerCache,
    /// The tmp and local caches inputs are materialized from.
    pub store: &'a Store,
    /// The directory holding one sandbox per exec or plugin target.
    pub sandboxes: &'a Path,
}

impl DriverCtx<'_> {
    /// The context a consumer materializes its inputs through: under a policy modelling
    /// Bazel's pipeline its passthrough readers let a change through (`crate::guard` then
    /// decides on the cache write); the engine's own reads (packing) always verify.
    fn consumer_ctx(&self) -> Ctx {
        let mut ctx = self.ctx.clone();
        ctx.reads_unverified = self.walker.policy().guard().is_some();
        ctx
    }

    /// The sandbox directory of an exec or plugin target.
    fn sandbox_dir(&self, target: &str) -> PathBuf {
        debug_assert!(!target.is_empty(), "a target has a name");
        self.sandboxes.join(target)
    }
}

/// Paths generated in place (heph's `.heph*`) are not sources.
pub fn is_generated(path: &Path) -> bool {
    let generated = |name: &std::ffi::OsStr| name.to_string_lossy().starts_with(".heph");
    if crate::regressed!(GeneratedDirMissedBelowRoot) {
        return path.starts_with(".heph") || path.file_name().is_some_and(generated);
    }
    path.components().any(|c| generated(c.as_os_str()))
}

/// Runs `target`'s driver over its inputs' result artifacts.
pub fn run(driver: &DriverCtx<'_>, target: &Target, inputs: &[Artifact]) -> Result<DriverRun> {
    match &target.driver {
        Driver::FsFile { path } => fs_file(driver, path),
        Driver::FsGlob { patterns, excludes } => fs_glob(driver, &target.name, patterns, excludes),
        Driver::Exec {
            steps,
            outputs,
            consume,
        } => exec(driver, target, inputs, steps, outputs, *consume),
        Driver::Group { relocate } => Ok(DriverRun {
            outputs: vec![group(target, relocate, inputs)],
            ..DriverRun::default()
        }),
        Driver::Plugin { sources, concat_to } => plugin(driver, target, inputs, sources, concat_to),
    }
}

fn source_artifact(driver: &DriverCtx<'_>, group: &str, path: &Path) -> Result<Artifact> {
    let hashed = driver.walker.hash(driver.ctx, path)?;
    Ok(Artifact::source_file(
        group,
        path,
        path,
        hashed.x,
        hashed.hashout,
    ))
}

/// A source path must name a file inside the workspace.
fn check_source_path(path: &Path) -> Result<()> {
    check_out_path(path).map_err(|e| match e {
        EngineError::PathEscape { path, why } => EngineError::SourceEscape { path, why },
        other => other,
    })
}

fn fs_file(driver: &DriverCtx<'_>, path: &Path) -> Result<DriverRun> {
    check_source_path(path)?;
    if is_generated(path) && !crate::regressed!(GeneratedPathsHashed) {
        return Ok(DriverRun::default());
    }
    if crate::regressed!(DirectoryYieldsNothing)
        && driver
            .ctx
            .fs
            .metadata(path)
            .is_ok_and(|m| m.kind == crate::fs::FileKind::Dir)
    {
        return Ok(DriverRun::default());
    }
    Ok(DriverRun {
        outputs: vec![source_artifact(driver, "out", path)?],
        ..DriverRun::default()
    })
}

/// At most this many compiled pattern sets are memoized per process.
pub const MAX_COMPILED_GLOBSETS: usize = 256;

/// Compiles `patterns`, memoized: compiling a glob set costs more than a small walk, and
/// scenarios reuse a handful of pattern lists. The memo never changes a result.
fn globset(target: &str, patterns: &[String]) -> Result<GlobSet> {
    static COMPILED: std::sync::Mutex<BTreeMap<Vec<String>, GlobSet>> =
        std::sync::Mutex::new(BTreeMap::new());
    if let Some(set) = COMPILED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(patterns)
    {
        return Ok(set.clone());
    }
    let set = compile_globset(target, patterns)?;
    let mut compiled = COMPILED.lock().unwrap_or_else(|p| p.into_inner());
    if compiled.len() >= MAX_COMPILED_GLOBSETS {
        compiled.clear();
    }
    compiled.insert(patterns.to_vec(), set.clone());
    Ok(set)
}

fn compile_globset(target: &str, patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        if crate::regressed!(BadGlobPatternSkipped) && Glob::new(pattern).is_err() {
            continue;
        }
        let glob = Glob::new(pattern).map_err(|e| EngineError::BadGlob {
            target: target.into(),
            pattern: pattern.clone(),
            why: e.kind().to_string(),
        })?;
        builder.add(glob);
    }
    builder.build().map_err(|e| EngineError::BadGlob {
        target: target.into(),
        pattern: patterns.join(","),
        why: e.to_string(),
    })
}

fn fs_glob(
    driver: &DriverCtx<'_>,
    name: &str,
    patterns: &[String],
    excludes: &[String],
) -> Result<DriverRun> {
    let include = globset(name, patterns)?;
    let exclude = globset(name, excludes)?;
    let mut files = Vec::new();
    walk_files(driver, Path::new(""), 0, &mut files)?;
    if crate::regressed!(GlobPrunesExcludedDirs) {
        files.retain(|p| !p.ancestors().skip(1).any(|dir| exclude.is_match(dir)));
    }
    let mut outputs = Vec::new();
    for path in files
        .into_iter()
        .filter(|p| include.is_match(p) && !exclude.is_match(p))
    {
        match source_artifact(driver, &path.to_string_lossy(), &path) {
            Ok(artifact) => outputs.push(artifact),
            Err(e @ EngineError::PermissionDenied { .. })
                if crate::regressed!(GlobFailsOnDenied) =>
            {
                return Err(e)
            }
            // SPEC §3: a matched file that cannot be read is skipped.
            Err(
                EngineError::MissingSource { .. }
                | EngineError::PermissionDenied { .. }
                | EngineError::SymlinkLoop { .. },
            ) => {}
            Err(EngineError::Io { .. }) if crate::regressed!(GlobSkipsIoErrors) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(DriverRun {
        outputs,
        ..DriverRun::default()
    })
}

/// Collects workspace files (sorted), following file symlinks but never descending into a
/// symlinked directory, and skipping generated `.heph*` paths.
fn walk_files(
    driver: &DriverCtx<'_>,
    dir: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    if depth > MAX_GLOB_DEPTH {
        return Err(EngineError::Limit {
            what: "glob depth",
            got: depth as u64,
            max: MAX_GLOB_DEPTH as u64,
        });
    }
    let fs = &driver.ctx.fs;
    let names = driver.walker.list_dir(driver.ctx, dir);
    for name in names.map_err(|e| EngineError::io(dir, e))?.iter() {
        let path = dir.join(name);
        let generated = if crate::regressed!(GeneratedSkippedAtRootOnly) {
            path.starts_with(".heph")
        } else {
            name.starts_with(".heph")
        };
        if generated {
            continue;
        }
        if out.len() >= MAX_GLOB_VISITS {
            return Err(EngineError::Limit {
                what: "glob files",
                got: out.len() as u64,
                max: MAX_GLOB_VISITS as u64,
            });
        }
        let kind = match fs.symlink_metadata(&path) {
            Ok(meta) => meta.kind,
            // Listed, and gone since (a remembered listing can name what was removed).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(EngineError::io(&path, e)),
        };
        match kind {
            FileKind::Dir if depth >= 2 && crate::regressed!(GlobSkipsDeepDirs) => {}
            FileKind::Dir if crate::regressed!(GlobSkipsHiddenDirs) && name.starts_with('.') => {}
            FileKind::Dir => walk_files(driver, &path, depth + 1, out)?,
            FileKind::File if crate::regressed!(GlobSkipsEmptyFiles) => {
                if fs.metadata(&path).is_ok_and(|m| m.len > 0) {
                    out.push(path)
                }
            }
            FileKind::File => out.push(path),
            FileKind::Symlink => match fs.metadata(&path) {
                Ok(meta) if meta.kind == FileKind::File => out.push(path),
                _ => {}
            },
        }
    }
    Ok(())
}

fn group(target: &Target, relocate: &Path, inputs: &[Artifact]) -> Artifact {
    let inner: Vec<&str> = inputs.iter().map(|a| a.hashout.as_str()).collect();
    let prefix = relocate.to_string_lossy();
    let prefix = if crate::regressed!(ViewHashoutIgnoresRelocate) {
        ""
    } else {
        &prefix
    };
    let hashout = hashin("view", prefix.as_bytes(), &inner);
    let view = View {
        relocate: relocate.to_path_buf(),
        artifacts: inputs.to_vec(),
    };
    Artifact {
        group: target.name.clone(),
        kind: ArtifactType::Output,
        content: Content::View(Box::new(view)),
        hashout,
    }
}

fn exec(
    driver: &DriverCtx<'_>,
    target: &Target,
    inputs: &[Artifact],
    steps: &[ExecStep],
    outputs: &[ExecOutput],
    consume: ConsumePath,
) -> Result<DriverRun> {
    let ctx = driver.ctx;
    let sandbox = fresh_sandbox(driver, &target.name)?;
    let consumer = driver.consumer_ctx();
    let delivered = materialize(
        &consumer,
        driver.store,
        &target.name,
        inputs,
        &sandbox,
        consume,
    )
    .inspect_err(|_| {
        if crate::regressed!(SandboxRemovedOnFailure) {
            let _ = ctx.fs.remove_dir_all(&sandbox);
        }
    })?;
    let mut log = Vec::new();
    for step in steps {
        run_step(driver, &sandbox, &delivered, step)?;
        writeln!(log, "{}", serde_json::to_string(step).unwrap_or_default())
            .map_err(|e| EngineError::io(&sandbox, e))?;
    }
    let log_path = Path::new("exec.log");
    let log_file = sandbox.join(log_path);
    ctx.fs
        .write(&log_file, &log)
        .map_err(|e| EngineError::io(&log_file, e))?;
    let mut artifacts = Vec::with_capacity(outputs.len() + 1);
    for output in outputs {
        artifacts.push(sandbox_file(
            driver,
            &sandbox,
            &output.group,
            ArtifactType::Output,
            &output.path,
        )?);
    }
    artifacts.push(sandbox_file(
        driver,
        &sandbox,
        "log",
        ArtifactType::Log,
        log_path,
    )?);
    Ok(DriverRun {
        outputs: artifacts,
        delivered,
        sandbox: Some(sandbox),
    })
}

fn sandbox_changed(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "sandbox input {} changed after it was materialized",
            path.display()
        ),
    )
}

/// An empty sandbox for `name`: whatever a failed earlier run left there for diagnosis (SPEC
/// §7) is removed first, so no stale file or mode reaches this run.
fn fresh_sandbox(driver: &DriverCtx<'_>, name: &str) -> Result<PathBuf> {
    let fs = &driver.ctx.fs;
    let sandbox = driver.sandbox_dir(name);
    match fs.remove_dir_all(&sandbox) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(EngineError::io(&sandbox, e))
        }
        _ => {}
    }
    fs.create_dir_all(&sandbox)
        .map_err(|e| EngineError::io(&sandbox, e))?;
    Ok(sandbox)
}

fn run_step(
    driver: &DriverCtx<'_>,
    sandbox: &Path,
    delivered: &[Delivered],
    step: &ExecStep,
) -> Result<()> {
    let fs = &driver.ctx.fs;
    match step {
        ExecStep::Concat { to } => {
            check_out_path(to)?;
            let mut sorted: Vec<&Delivered> = delivered.iter().collect();
            sorted.sort_by(|a, b| a.path.cmp(&b.path));
            let mut data = Vec::with_capacity(sorted.iter().map(|d| d.data.len()).sum());
            for item in sorted {
                let path = sandbox.join(&item.path);
                let read = fs
                    .read_shared(&path, crate::materialize::MAX_ENTRY_BYTES)
                    .map_err(|e| EngineError::io(&path, e))?;
                // The sandbox is the target's own: an input that changed there since it was
                // materialized is refused, never concatenated into a cached output.
                if *read != item.data {
                    return Err(EngineError::io(&path, sandbox_changed(&path)));
                }
                data.extend_from_slice(&read);
            }
            let dest = sandbox.join(to);
            fs.write(&dest, &data)
                .map_err(|e| EngineError::io(&dest, e))
        }
        ExecStep::Write { path, data } => {
            check_out_path(path)?;
            let dest = sandbox.join(path);
            fs.write(&dest, data).map_err(|e| EngineError::io(&dest, e))
        }
        ExecStep::Chmod { path, x } => {
            check_out_path(path)?;
            let dest = sandbox.join(path);
            fs.set_mode(&dest, if *x { 0o755 } else { 0o644 })
                .map_err(|e| EngineError::io(&dest, e))
        }
    }
}

/// An exec output: a File into the sandbox, hashed now, never flagged passthrough.
fn sandbox_file(
    driver: &DriverCtx<'_>,
    sandbox: &Path,
    group: &str,
    kind: ArtifactType,
    out: &Path,
) -> Result<Artifact> {
    check_out_path(out)?;
    let fs = &driver.ctx.fs;
    let path = sandbox.join(out);
    let meta = fs.metadata(&path).map_err(|e| EngineError::io(&path, e))?;
    if meta.kind == FileKind::Dir {
        return Err(EngineError::not_a_file(path));
    }
    let x = meta.exec() && !crate::regressed!(ExecOutputDropsMode);
    let mut reader = fs.open(&path).map_err(|e| EngineError::io(&path, e))?;
    let hashout = hash_reader(&mut reader, x).map_err(|e| EngineError::io(&path, e))?;
    let content = Content::File {
        source_path: path,
        out_path: out.to_path_buf(),
        x,
        passthrough: crate::regressed!(ExecMarksPassthrough),
    };
    Ok(Artifact {
        group: group.into(),
        kind,
        content,
        hashout,
    })
}

/// An artifact as it comes back from a plugin process: encoded to the wire's bytes and decoded
/// from them (which drops the passthrough flag, SPEC §3), not merely converted as a struct.
fn across_abi(artifact: &Artifact) -> Result<Artifact> {
    abi::decode(&abi::encode(artifact)?)
}

/// A plugin: its outputs and the inputs it reads all cross the ABI.
fn plugin(
    driver: &DriverCtx<'_>,
    target: &Target,
    inputs: &[Artifact],
    sources: &[PathBuf],
    concat_to: &Path,
) -> Result<DriverRun> {
    for input in inputs.iter().filter(|_| !crate::regressed!(ViewsCrossAbi)) {
        abi::to_wire(input)?;
    }
    let mut outputs = Vec::with_capacity(sources.len() + 1);
    for (index, source) in sources.iter().enumerate() {
        check_source_path(source)?;
        let group = format!("src{index}");
        let artifact = match driver.walker.recorded(source) {
            Some((stamp, hashout)) if crate::regressed!(PluginReusesRecordedHash) => {
                Artifact::source_file(&group, source, source, stamp.mode & 0o111 != 0, hashout)
            }
            _ => source_artifact(driver, &group, source)?,
        };
        if crate::regressed!(AbiKeepsPassthrough) {
            outputs.push(artifact);
            continue;
        }
        outputs.push(across_abi(&artifact)?);
    }
    let sandbox = if crate::regressed!(PluginSandboxReused) {
        driver.sandbox_dir(&target.name)
    } else {
        fresh_sandbox(driver, &target.name)?
    };
    let delivered = materialize(
        &driver.consumer_ctx(),
        driver.store,
        &target.name,
        inputs,
        &sandbox,
        ConsumePath::AbiChunked,
    )?;
    let mut data = Vec::new();
    for item in &delivered {
        data.extend_from_slice(&item.data);
    }
    let hashout = bytes_hashout(&data, false);
    check_out_path(concat_to)?;
    let raw = Artifact {
        group: "concat".into(),
        kind: ArtifactType::Output,
        content: Content::Raw {
            data,
            path: concat_to.into(),
            x: false,
        },
        hashout,
    };
    outputs.push(across_abi(&raw)?);
    let sandbox = Some(sandbox);
    Ok(DriverRun {
        outputs,
        delivered,
        sandbox,
    })
}
