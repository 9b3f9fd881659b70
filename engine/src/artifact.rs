//! Artifacts (SPEC §1): what targets produce and consumers read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What role an output plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ArtifactType {
    /// A declared output.
    Output,
    /// The execution log.
    Log,
    /// A support file.
    SupportFile,
}

impl ArtifactType {
    /// The tar-name prefix of SPEC §5: `{out|log|support}_{group}.tar`.
    pub fn tar_prefix(self) -> &'static str {
        match self {
            ArtifactType::Output => "out",
            ArtifactType::Log => "log",
            ArtifactType::SupportFile => "support",
        }
    }
}

/// A path-rewritten window onto other targets' artifacts (the `group` driver).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// Every entry of the viewed artifacts is exposed under this prefix.
    pub relocate: PathBuf,
    /// The viewed artifacts (result artifacts of the group's inputs).
    pub artifacts: Vec<Artifact>,
}

/// The content kinds of SPEC §1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// One file on disk, exposed at `out_path`.
    File {
        /// Where the bytes live (workspace or sandbox path).
        source_path: PathBuf,
        /// Where consumers see it.
        out_path: PathBuf,
        /// The exec bit recorded when it was hashed.
        x: bool,
        /// Set by drivers whose files may be read by reference (fs:file, fs:glob).
        passthrough: bool,
    },
    /// Bytes in memory.
    Raw {
        /// The bytes.
        data: Vec<u8>,
        /// Where consumers see them.
        path: PathBuf,
        /// Exec bit.
        x: bool,
    },
    /// A tar archive in a cache (what the local cache stores).
    Tar(PathBuf),
    /// A View over other artifacts.
    View(Box<View>),
}

impl Content {
    /// A short name of the kind, for tables and traces.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Content::File { .. } => "file",
            Content::Raw { .. } => "raw",
            Content::Tar(_) => "tar",
            Content::View(_) => "view",
        }
    }
}

/// One output artifact of a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Output name; unique among a target's outputs.
    pub group: String,
    /// Role.
    pub kind: ArtifactType,
    /// What it holds.
    pub content: Content,
    /// The content hash (for a file: `file_hashout`).
    pub hashout: String,
}

impl Artifact {
    /// A source file artifact as fs:file produces it.
    pub fn source_file(group: &str, source: &Path, out: &Path, x: bool, hashout: String) -> Self {
        Artifact {
            group: group.to_string(),
            kind: ArtifactType::Output,
            content: Content::File {
                source_path: source.to_path_buf(),
                out_path: out.to_path_buf(),
                x,
                passthrough: true,
            },
            hashout,
        }
    }

    /// The name of this artifact's tar in a cache entry.
    pub fn tar_name(&self) -> String {
        if crate::regressed!(TarNameOmitsRole) {
            return format!("{}.tar", self.group);
        }
        format!("{}_{}.tar", self.kind.tar_prefix(), self.group)
    }
}
