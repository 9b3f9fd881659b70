//! Bazel's guard against concurrent changes (`--guard_against_concurrent_changes`), for the
//! policies that model Bazel's pipeline ([`crate::walker::Policy::guard`]). Bazel reads an
//! action's inputs as they are, with no verification at consume time; after the action, before
//! it writes the outputs to the cache, it checks each main-repository source input, and if one
//! changed since it was digested the outputs are used but not cached. Bazel 8.3's default
//! ("lite") compares the `FileContentsProxy` (ctime, mtime, inode) recorded at digest time; the
//! 8.4 variant re-digests the file, which an A→B→A edit during the action passes. Sources of
//! external repositories (under [`EXTERNAL`]) are not checked at all under lite. ccache's
//! pipeline is the same shape: up to 4.9.0 it checked nothing of the source after the compile
//! ([`Guard::Never`]); 4.9.1 refuses a source that is "too new" ([`Guard::TooNew`]).

use std::path::{Path, PathBuf};

use crate::artifact::{Artifact, Content};
use crate::ctx::Ctx;
use crate::fs::FileKind;
use crate::hash::hash_reader;
use crate::probe::Probe;
use crate::walker::WalkerCache;

/// Sources under this workspace directory belong to external repositories, which the guard's
/// lite mode does not check.
pub const EXTERNAL: &str = "external";

/// At most this many sources are checked for one target (a limit on the guard's work).
pub const MAX_GUARDED: usize = 1 << 16;

/// What the guard compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Bazel 8.3 (lite): the `FileContentsProxy` (size, ctime, mtime, inode) against the one
    /// recorded when the file was digested.
    Stat,
    /// Bazel 8.4's variant: the file's digest now against the one its key was computed from.
    Redigest,
    /// ccache from 4.9.1: a source whose mtime or ctime is at or after the compile's start
    /// (the start of the build that hashed it, read at full resolution) is too new.
    TooNew,
    /// ccache up to 4.9.0: the source is not checked; the result is always cached.
    Never,
}

impl Guard {
    /// Bazel's guards run in lite mode: external repositories are not checked.
    fn skips_external(self) -> bool {
        matches!(self, Guard::Stat | Guard::Redigest)
    }
}

/// True for a source of an external repository (not checked under lite).
pub fn is_external(path: &Path) -> bool {
    if crate::regressed!(GuardExternalByPrefix) {
        return path.to_string_lossy().starts_with(EXTERNAL);
    }
    path.starts_with(EXTERNAL)
}

/// One live workspace source among a target's inputs: path, hashout and recorded exec bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSource {
    /// Workspace path.
    pub path: PathBuf,
    /// The hashout its key was computed from.
    pub hashout: String,
    /// The exec bit recorded with it.
    pub x: bool,
}

/// The passthrough sources among `inputs`, through views, in input order.
pub fn live_sources(inputs: &[Artifact]) -> Vec<LiveSource> {
    let mut out = Vec::new();
    let mut stack: Vec<&Artifact> = inputs.iter().rev().collect();
    while let Some(artifact) = stack.pop() {
        assert!(
            out.len() <= MAX_GUARDED,
            "more live sources than the guard checks"
        );
        match &artifact.content {
            Content::File {
                source_path,
                x,
                passthrough: true,
                ..
            } => out.push(LiveSource {
                path: source_path.clone(),
                hashout: artifact.hashout.clone(),
                x: *x,
            }),
            Content::View(_) if crate::regressed!(GuardSkipsViews) => {}
            Content::View(view) if crate::regressed!(GuardChecksOneViewDeep) => {
                let files = view.artifacts.iter().rev();
                stack.extend(files.filter(|a| !matches!(a.content, Content::View(_))));
            }
            Content::View(view) => stack.extend(view.artifacts.iter().rev()),
            _ => {}
        }
    }
    out
}

/// The first main-repository source of `inputs` that `guard` finds changed, if any: what keeps
/// `target`'s outputs out of the cache.
pub fn changed_source(
    ctx: &Ctx,
    walker: &WalkerCache,
    guard: Guard,
    target: &str,
    inputs: &[Artifact],
) -> Option<PathBuf> {
    ctx.probe(Probe::BeforeGuard { target });
    let sources = live_sources(inputs);
    sources
        .into_iter()
        .filter(|s| !(guard.skips_external() && is_external(&s.path)))
        .find(|s| changed(ctx, walker, guard, s))
        .map(|s| s.path)
}

/// True when `source` is not as it was digested; a file that cannot be read (or is no longer
/// a file) has changed.
fn changed(ctx: &Ctx, walker: &WalkerCache, guard: Guard, source: &LiveSource) -> bool {
    let now = ctx
        .fs
        .metadata(&source.path)
        .ok()
        .filter(|m| m.kind == FileKind::File);
    match guard {
        Guard::Stat => {
            // The proxy recorded with the digest the key was computed from: a later digest of
            // other bytes (another target hashed the file again) means it changed.
            let recorded = walker.recorded(&source.path);
            let was = match crate::regressed!(GuardTrustsNewestDigest) {
                true => recorded,
                false => recorded.filter(|(_, hashout)| *hashout == source.hashout),
            };
            let (Some((was, _)), Some(now)) = (was, now) else {
                return true;
            };
            (was.len, was.ctime_ns, was.mtime_ns, was.ino)
                != (now.len, now.ctime_ns, now.mtime_ns, now.ino)
        }
        Guard::Never => false,
        Guard::TooNew => {
            let recorded = walker.recorded(&source.path);
            let was = recorded.filter(|(_, hashout)| *hashout == source.hashout);
            let (Some((was, _)), Some(now)) = (was, now) else {
                return true;
            };
            too_new(&now, was.build_start_ns)
        }
        Guard::Redigest => {
            let digest = ctx
                .fs
                .open(&source.path)
                .and_then(|mut file| hash_reader(&mut file, source.x));
            digest.map_or(true, |d| d != source.hashout)
        }
    }
}

/// How long after the compile's start an edit must come for ccache to call the source too
/// new: 100 ms, measured against ccache 4.14.2 by `sim tools` (an edit 80 ms into the compile
/// is cached, one 180 ms in is refused as `modified_input_file`).
pub const TOO_NEW_MARGIN_NS: u64 = 100_000_000;

/// ccache's "too new" (from 4.9.1, for the source after the compile): the file's mtime or
/// ctime `now` is at or after `build_start_ns` (the compile's start, read at full resolution)
/// plus [`TOO_NEW_MARGIN_NS`].
pub fn too_new(now: &crate::fs::Metadata, build_start_ns: u64) -> bool {
    let deadline = build_start_ns.saturating_add(TOO_NEW_MARGIN_NS);
    let ctime_too_new = now.ctime_ns >= deadline && !crate::regressed!(TooNewIgnoresCtime);
    now.mtime_ns >= deadline || ctime_too_new
}
