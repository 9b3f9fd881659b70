//! The oracle's model of what each target must produce: artifacts with their hashouts, whether
//! SPEC §4 passes them through, and the entries a consumer of them must receive. It is computed
//! from the scenario's target definitions and the journal, never from the engine's results.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::target::{Driver, Target};
use engine::ArtifactType;

use super::hashing::{oracle_hashout, view_hashout};

/// What an exec consumer's log must hold: one line per step, our own rendering of the one step
/// scenarios use (`Concat` into `out`), written here rather than by the engine's serializer.
pub const EXEC_LOG: &[u8] = b"{\"concat\":{\"to\":\"out\"}}\n";

/// Where a consumer entry's bytes come from when they are a workspace source read live (or at
/// pack time): which hash act recorded them, so a failure can be justified by a later change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The workspace path.
    pub path: PathBuf,
    /// The journal position of the hash act whose answer went into the key.
    pub act_seq: u64,
    /// The answer was a walker-cache answer whose bytes differ from the file's at that moment.
    pub stale: bool,
}

/// What an entry must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exactly these bytes.
    Bytes(Arc<Vec<u8>>),
    /// Bytes the oracle does not know (a mutation tore the hash): whatever hashes, with the
    /// entry's exec bit, to this hashout.
    HashesTo(String),
}

/// One file a consumer of an artifact receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path in the consumer's view.
    pub path: PathBuf,
    /// Content.
    pub expect: Expect,
    /// Exec bit.
    pub x: bool,
    /// The workspace source behind it, when it is one.
    pub origin: Option<Origin>,
    /// A consumer reads it from the workspace, live, at consume time (through passthrough
    /// artifacts only); else from a cache tar or memory.
    pub live: bool,
}

impl Entry {
    /// True when `bytes` with exec bit `x` are what this entry must hold.
    pub fn admits(&self, bytes: &[u8], x: bool) -> bool {
        x == self.x
            && match &self.expect {
                Expect::Bytes(expected) => expected.as_slice() == bytes,
                Expect::HashesTo(hashout) => oracle_hashout(bytes, x) == *hashout,
            }
    }

    /// The bytes, when known.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.expect {
            Expect::Bytes(bytes) => Some(bytes),
            Expect::HashesTo(_) => None,
        }
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match &self.expect {
            Expect::Bytes(b) => format!("{} bytes, x={}", b.len(), self.x),
            Expect::HashesTo(h) => format!("bytes hashing to {h}, x={}", self.x),
        }
    }
}

/// One output artifact as the model predicts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Output group.
    pub group: String,
    /// Role.
    pub kind: ArtifactType,
    /// Its hashout, computed by the oracle.
    pub hashout: String,
    /// SPEC §4, from the producing target's definition: skips the cache by reference.
    pub passes_through: bool,
    /// What a consumer of it receives.
    pub entries: Vec<Entry>,
}

impl Artifact {
    /// The tar name SPEC §5 gives it in a cache entry.
    pub fn tar_name(&self) -> String {
        format!("{}_{}.tar", self.kind.tar_prefix(), self.group)
    }
}

/// SPEC §4's `use_tmp_cache` for a definition.
pub fn uses_tmp(target: &Target) -> bool {
    !target.cache.enabled || target.cache.shell
}

/// The driver name SPEC §1 puts into hashin, from the definition's kind.
pub fn driver_name(driver: &Driver) -> &'static str {
    match driver {
        Driver::FsFile { .. } => "fs_file",
        Driver::FsGlob { .. } => "fs_glob",
        Driver::Exec { .. } => "exec",
        Driver::Group { .. } => "group",
        Driver::Plugin { .. } => "plugin",
    }
}

/// The definition bytes that go into hashin: the definition's canonical JSON, serialized here.
pub fn def_bytes(driver: &Driver) -> Vec<u8> {
    serde_json::to_vec(driver).unwrap_or_default()
}

/// A workspace source's artifact: a flagged File, passing through on the tmp path.
pub fn source_artifact(target: &Target, group: &str, entry: Entry, hashout: String) -> Artifact {
    let passes_through = uses_tmp(target);
    Artifact {
        group: group.to_string(),
        kind: ArtifactType::Output,
        hashout,
        passes_through,
        entries: vec![Entry {
            live: passes_through,
            ..entry
        }],
    }
}

/// A group target's View over its inputs' artifacts, relocated under `relocate`.
pub fn view_artifact(target: &Target, relocate: &Path, inputs: &[&Artifact]) -> Artifact {
    let inner: Vec<&str> = inputs.iter().map(|a| a.hashout.as_str()).collect();
    let entries = inputs
        .iter()
        .flat_map(|a| a.entries.iter())
        .map(|e| Entry {
            path: relocate.join(&e.path),
            live: e.live && uses_tmp(target),
            ..e.clone()
        })
        .collect();
    Artifact {
        group: target.name.clone(),
        kind: ArtifactType::Output,
        hashout: view_hashout(relocate, &inner),
        passes_through: uses_tmp(target),
        entries,
    }
}

/// A packed output holding one file of known bytes.
pub fn packed_file(group: &str, kind: ArtifactType, path: &str, bytes: Vec<u8>) -> Artifact {
    let hashout = oracle_hashout(&bytes, false);
    Artifact {
        group: group.to_string(),
        kind,
        hashout,
        passes_through: false,
        entries: vec![Entry {
            path: PathBuf::from(path),
            expect: Expect::Bytes(Arc::new(bytes)),
            x: false,
            origin: None,
            live: false,
        }],
    }
}

/// An exec consumer's outputs: `out` (its entries' bytes concatenated in sorted path order) and
/// its log. `None` when some entry's bytes are unknown.
pub fn exec_outputs(entries: &[Entry]) -> Option<Vec<Artifact>> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = Vec::new();
    for entry in sorted {
        out.extend_from_slice(entry.bytes()?);
    }
    Some(vec![
        packed_file("out", ArtifactType::Output, "out", out),
        packed_file("log", ArtifactType::Log, "exec.log", EXEC_LOG.to_vec()),
    ])
}

/// A plugin's concatenation output: its entries' bytes in the order they were delivered.
pub fn plugin_concat(entries: &[Entry], concat_to: &Path) -> Option<Artifact> {
    let mut data = Vec::new();
    for entry in entries {
        data.extend_from_slice(entry.bytes()?);
    }
    Some(packed_file(
        "concat",
        ArtifactType::Output,
        &concat_to.to_string_lossy(),
        data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_log_is_what_the_concat_step_serializes_to() {
        // The oracle writes the log itself; this pins that its rendering is the step's JSON.
        let step = engine::target::ExecStep::Concat { to: "out".into() };
        let json = format!("{}\n", serde_json::to_string(&step).unwrap());
        assert_eq!(json.as_bytes(), EXEC_LOG);
    }

    #[test]
    fn exec_out_concatenates_in_path_order() {
        let entry = |path: &str, bytes: &[u8]| Entry {
            path: path.into(),
            expect: Expect::Bytes(Arc::new(bytes.to_vec())),
            x: false,
            origin: None,
            live: false,
        };
        let outs = exec_outputs(&[entry("b", b"2"), entry("a", b"1")]).unwrap();
        assert_eq!(outs[0].entries[0].bytes(), Some(&b"12"[..]));
        assert_eq!(outs[0].hashout, oracle_hashout(b"12", false));
        assert_eq!(outs[1].tar_name(), "log_log.tar");
    }
}
