//! The engine's typed errors: every bad input names the path and what was wrong.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while the engine builds, caches or consumes artifacts.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A source file named by a target does not exist.
    #[error("missing source {path}: no such file")]
    MissingSource {
        /// The workspace path that was looked up.
        path: PathBuf,
        /// The `NotFound` behind it.
        source: io::Error,
    },
    /// A directory was found where a regular file was expected.
    #[error("{path} is a directory, expected a regular file")]
    NotAFile {
        /// The offending path.
        path: PathBuf,
        /// The `IsADirectory` behind it (made up when `stat` said so before any open did).
        source: io::Error,
    },
    /// Following symlinks did not terminate.
    #[error("symlink loop while resolving {path}")]
    SymlinkLoop {
        /// The path whose resolution looped.
        path: PathBuf,
        /// The `ELOOP` behind it.
        source: io::Error,
    },
    /// The file system refused access.
    #[error("permission denied: {path}")]
    PermissionDenied {
        /// The path that could not be accessed.
        path: PathBuf,
        /// The `PermissionDenied` behind it.
        source: io::Error,
    },
    /// An output path would land outside the sandbox or cache directory.
    #[error("out_path {path} escapes the sandbox: {why}")]
    PathEscape {
        /// The offending out_path.
        path: PathBuf,
        /// Why it was refused (absolute, `..`, empty).
        why: &'static str,
    },
    /// A source path would point outside the workspace.
    #[error("source path {path} escapes the workspace: {why}")]
    SourceEscape {
        /// The offending source path.
        path: PathBuf,
        /// Why it was refused (absolute, `..`, empty).
        why: &'static str,
    },
    /// Two outputs of one target share a group name.
    #[error("duplicate output group name {name:?} in target {target}")]
    DuplicateGroup {
        /// The target that declared the groups.
        target: String,
        /// The repeated group name.
        name: String,
    },
    /// Two entries would be materialized at the same path.
    #[error("collision: two inputs of {consumer} both provide {path}")]
    Collision {
        /// The consuming target.
        consumer: String,
        /// The sandbox-relative path claimed twice.
        path: PathBuf,
    },
    /// A cache tar could not be parsed.
    #[error("malformed tar {path}: {why}")]
    MalformedTar {
        /// The tar file.
        path: PathBuf,
        /// What the parser said.
        why: String,
    },
    /// A cache file no longer holds the bytes its checksum names: damaged since it was written.
    #[error("damaged cache file {path}: {why}")]
    DamagedCache {
        /// The file.
        path: PathBuf,
        /// What does not match.
        why: String,
    },
    /// A cache manifest could not be parsed.
    #[error("malformed cache manifest {path}: {why}")]
    MalformedManifest {
        /// The manifest file.
        path: PathBuf,
        /// What the parser said.
        why: String,
    },
    /// A target or input name is unknown, or the graph is malformed.
    #[error("bad build graph: {0}")]
    Graph(String),
    /// A bad glob pattern.
    #[error("bad glob pattern {pattern:?} in target {target}: {why}")]
    BadGlob {
        /// The target that declared the pattern.
        target: String,
        /// The pattern.
        pattern: String,
        /// What the glob parser said.
        why: String,
    },
    /// A View was asked to cross the plugin ABI.
    #[error("a View ({group}) cannot cross the plugin ABI")]
    ViewAcrossAbi {
        /// The view's group.
        group: String,
    },
    /// A serialized plugin artifact could not be decoded.
    #[error("malformed plugin wire artifact: {0}")]
    MalformedWire(String),
    /// A limit of the engine was exceeded.
    #[error("limit exceeded: {what} ({got} > {max})")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// The value seen.
        got: u64,
        /// The maximum allowed.
        max: u64,
    },
    /// Any other I/O error, with the path it concerned. The kind is preserved, so a verification
    /// failure (`InvalidData`) or a vanished source (`NotFound`) stays recognisable.
    #[error("{path}: {source}")]
    Io {
        /// The path being accessed.
        path: PathBuf,
        /// The underlying error (its kind is what outcome classification uses).
        source: io::Error,
    },
    /// A blocking task panicked or was cancelled.
    #[error("blocking task failed: {0}")]
    Task(String),
}

/// Linux's ELOOP, which both real and simulated file systems report for symlink loops.
pub const ELOOP: i32 = 40;

impl EngineError {
    /// Classifies an I/O error on `path` into the most precise variant.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if source.raw_os_error() == Some(ELOOP) {
            return EngineError::SymlinkLoop { path, source };
        }
        match source.kind() {
            io::ErrorKind::PermissionDenied => EngineError::PermissionDenied { path, source },
            _ => EngineError::Io { path, source },
        }
    }

    /// A directory where a regular file was expected, found by `stat` before any open failed.
    pub fn not_a_file(path: impl Into<PathBuf>) -> Self {
        EngineError::NotAFile {
            path: path.into(),
            source: io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
        }
    }

    /// A short stable name for outcome counts and snapshots.
    pub fn name(&self) -> &'static str {
        match self {
            EngineError::Io { source, .. } => match source.kind() {
                io::ErrorKind::InvalidData => "invalid_data",
                io::ErrorKind::NotFound => "not_found",
                io::ErrorKind::UnexpectedEof => "unexpected_eof",
                _ => "io",
            },
            EngineError::MissingSource { .. } => "not_found",
            EngineError::NotAFile { .. } => "not_a_file",
            EngineError::SymlinkLoop { .. } => "symlink_loop",
            EngineError::PermissionDenied { .. } => "permission_denied",
            EngineError::PathEscape { .. } | EngineError::SourceEscape { .. } => "path_escape",
            EngineError::DuplicateGroup { .. } => "duplicate_group",
            EngineError::Collision { .. } => "collision",
            EngineError::MalformedTar { .. } => "malformed_tar",
            EngineError::MalformedManifest { .. } => "malformed_manifest",
            EngineError::DamagedCache { .. } => "damaged_cache",
            EngineError::Graph(_) => "graph",
            EngineError::BadGlob { .. } => "bad_glob",
            EngineError::ViewAcrossAbi { .. } => "view_across_abi",
            EngineError::MalformedWire(_) => "malformed_wire",
            EngineError::Limit { .. } => "limit",
            EngineError::Task(_) => "task",
        }
    }
}

/// The engine's result type.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
