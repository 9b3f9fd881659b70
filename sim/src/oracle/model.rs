//! The oracle's model of what each target must produce: artifacts with their hashouts, whether
//! SPEC §4 passes them through, and the entries a consumer of them must receive. It is computed
//! from the scenario's target definitions and the journal, never from the engine's results.
//!
//! The prediction lives here too (`Oracle::predict`): each target's outputs by its driver, from
//! the journal, checked on the way where the journal alone shows the engine wrong (a source
//! produced without hashing it, a consumer whose sandbox does not hold its inputs' entries).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::target::{ExecOutput, ExecStep, Target};
use engine::ArtifactType;

use super::hashing::{oracle_hashout, view_hashout};

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
            Expect::Bytes(b) => {
                let sum = super::hashing::checksum(b);
                format!("{} bytes ({sum}), x={}", b.len(), self.x)
            }
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
    packed(group, kind, path, bytes, false)
}

/// A packed output holding one file of known bytes and exec bit `x`.
fn packed(group: &str, kind: ArtifactType, path: &str, bytes: Vec<u8>, x: bool) -> Artifact {
    let hashout = oracle_hashout(&bytes, x);
    Artifact {
        group: group.to_string(),
        kind,
        hashout,
        passes_through: false,
        entries: vec![Entry {
            path: PathBuf::from(path),
            expect: Expect::Bytes(Arc::new(bytes)),
            x,
            origin: None,
            live: false,
        }],
    }
}

/// An exec consumer's outputs, from our own model of its steps over the entries it received:
/// `Concat` joins their bytes in sorted path order, `Write` writes literal bytes, `Chmod` sets
/// the exec bit; each declared output is then packed with the bytes and exec bit its path holds,
/// and the log holds one line per step, rendered here. `None` when some entry's bytes are
/// unknown or a step names a file no earlier step made.
pub fn exec_outputs(
    entries: &[Entry],
    steps: &[ExecStep],
    outputs: &[ExecOutput],
) -> Option<Vec<Artifact>> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    // The sandbox holds what was delivered (borrowed, not copied); a step that writes over a
    // file keeps its mode, as writing into an existing file does on POSIX.
    let mut files: BTreeMap<&Path, (Cow<'_, [u8]>, bool)> = BTreeMap::new();
    for entry in &sorted {
        files.insert(&entry.path, (Cow::Borrowed(entry.bytes()?), entry.x));
    }
    fn write<'a>(files: &mut Files<'a>, path: &'a Path, bytes: Vec<u8>) {
        let x = files.get(path).is_some_and(|(_, x)| *x);
        files.insert(path, (Cow::Owned(bytes), x));
    }
    let mut log = Vec::new();
    for step in steps {
        match step {
            ExecStep::Concat { to } => write(&mut files, to, concatenated(sorted.iter().copied())?),
            ExecStep::Write { path, data } => write(&mut files, path, data.clone()),
            ExecStep::Chmod { path, x } => files.get_mut(path.as_path())?.1 = *x,
        }
        log.extend_from_slice(&log_line(step));
    }
    let mut artifacts = Vec::with_capacity(outputs.len() + 1);
    for output in outputs {
        // Each declared path is packed once: taken, so a step's own bytes are not copied again.
        let (bytes, x) = files.remove(output.path.as_path())?;
        let path = output.path.to_string_lossy();
        let bytes = bytes.into_owned();
        artifacts.push(packed(&output.group, ArtifactType::Output, &path, bytes, x));
    }
    artifacts.push(packed_file("log", ArtifactType::Log, "exec.log", log));
    Some(artifacts)
}

/// The entries' bytes one after another (`None` when one's bytes are unknown), reserved once.
fn concatenated<'a>(entries: impl Iterator<Item = &'a Entry> + Clone) -> Option<Vec<u8>> {
    let total = entries
        .clone()
        .filter_map(Entry::bytes)
        .map(<[u8]>::len)
        .sum();
    let mut out = Vec::with_capacity(total);
    for entry in entries {
        out.extend_from_slice(entry.bytes()?);
    }
    Some(out)
}

/// The files of an exec sandbox in the oracle's model: bytes (delivered ones borrowed) and mode.
type Files<'a> = BTreeMap<&'a Path, (Cow<'a, [u8]>, bool)>;

/// One exec.log line: the step as the oracle's definition encoding writes it.
fn log_line(step: &ExecStep) -> Vec<u8> {
    format!("{}\n", super::definition::step(step)).into_bytes()
}

/// A plugin's concatenation output: its entries' bytes in the order they were delivered.
pub fn plugin_concat(entries: &[Entry], concat_to: &Path) -> Option<Artifact> {
    let data = concatenated(entries.iter())?;
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

    fn entry(path: &str, bytes: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            expect: Expect::Bytes(Arc::new(bytes.to_vec())),
            x: false,
            origin: None,
            live: false,
        }
    }

    fn output(name: &str) -> ExecOutput {
        ExecOutput {
            group: name.into(),
            path: name.into(),
        }
    }

    #[test]
    fn the_exec_log_is_what_each_step_serializes_to() {
        // The oracle writes the log itself; this pins that its rendering is the steps' JSON.
        for step in [
            ExecStep::Concat { to: "out".into() },
            ExecStep::Write {
                path: "stamp".into(),
                data: b"st\n\x00\xff".to_vec(),
            },
            ExecStep::Chmod {
                path: "out".into(),
                x: true,
            },
            ExecStep::Chmod {
                path: "a \"b\"".into(),
                x: false,
            },
        ] {
            let json = format!("{}\n", serde_json::to_string(&step).unwrap());
            assert_eq!(String::from_utf8(log_line(&step)).unwrap(), json);
        }
    }

    #[test]
    fn exec_out_concatenates_in_path_order() {
        let concat = [ExecStep::Concat { to: "out".into() }];
        let entries = [entry("b", b"2"), entry("a", b"1")];
        let outs = exec_outputs(&entries, &concat, &[output("out")]).unwrap();
        assert_eq!(outs[0].entries[0].bytes(), Some(&b"12"[..]));
        assert_eq!(outs[0].hashout, oracle_hashout(b"12", false));
        assert_eq!(outs[1].tar_name(), "log_log.tar");
    }

    #[test]
    fn exec_steps_set_exec_bits_and_write_files() {
        let steps = [
            ExecStep::Concat { to: "out".into() },
            ExecStep::Chmod {
                path: "out".into(),
                x: true,
            },
            ExecStep::Write {
                path: "stamp".into(),
                data: b"s".to_vec(),
            },
        ];
        let outs = exec_outputs(
            &[entry("a", b"1")],
            &steps,
            &[output("out"), output("stamp")],
        )
        .unwrap();
        assert_eq!(
            (outs[0].entries[0].x, &outs[0].hashout),
            (true, &oracle_hashout(b"1", true))
        );
        assert_eq!(outs[1].entries[0].bytes(), Some(&b"s"[..]));
        assert_eq!(
            outs[2].entries[0]
                .bytes()
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            3
        );
        let chmod_missing = [ExecStep::Chmod {
            path: "nothing".into(),
            x: true,
        }];
        assert_eq!(exec_outputs(&[], &chmod_missing, &[]), None, "no such file");
    }
}
