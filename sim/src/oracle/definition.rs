//! The oracle's own encoding of a target's definition, the bytes SPEC §1 puts into `hashin`
//! after the driver name: the definition's canonical JSON, written here field by field from
//! the scenario's definition (names, order, every field present), never through the engine's
//! serde derive. A field the engine drops from its key, renames or reorders is then a
//! `cache_key` violation rather than a change both sides make together.
//!
//! Architecture Invariant: nothing here serializes an engine type; JSON strings are escaped by
//! `serde_json` from plain `str`s (RFC 8259), the shape is ours.

use std::path::Path;

use engine::target::{Driver, ExecOutput, ExecStep};
use engine::ConsumePath;

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

/// The definition bytes that go into hashin: `{"<driver>":{<fields in declaration order>}}`.
pub fn def_bytes(driver: &Driver) -> Vec<u8> {
    let fields = match driver {
        Driver::FsFile { path } => format!("\"path\":{}", path_json(path)),
        Driver::FsGlob { patterns, excludes } => format!(
            "\"patterns\":{},\"excludes\":{}",
            list(patterns.iter().map(|p| text(p))),
            list(excludes.iter().map(|p| text(p)))
        ),
        Driver::Exec {
            steps,
            outputs,
            consume,
        } => format!(
            "\"steps\":{},\"outputs\":{},\"consume\":{}",
            list(steps.iter().map(step)),
            list(outputs.iter().map(output)),
            text(consume_name(*consume))
        ),
        Driver::Group { relocate } => format!("\"relocate\":{}", path_json(relocate)),
        Driver::Plugin { sources, concat_to } => format!(
            "\"sources\":{},\"concat_to\":{}",
            list(sources.iter().map(|p| path_json(p))),
            path_json(concat_to)
        ),
    };
    format!("{{\"{}\":{{{fields}}}}}", driver_name(driver)).into_bytes()
}

/// One exec step as a tagged object.
pub fn step(step: &ExecStep) -> String {
    match step {
        ExecStep::Concat { to } => format!("{{\"concat\":{{\"to\":{}}}}}", path_json(to)),
        ExecStep::Write { path, data } => {
            let bytes = list(data.iter().map(u8::to_string));
            format!(
                "{{\"write\":{{\"path\":{},\"data\":{bytes}}}}}",
                path_json(path)
            )
        }
        ExecStep::Chmod { path, x } => {
            format!("{{\"chmod\":{{\"path\":{},\"x\":{x}}}}}", path_json(path))
        }
    }
}

fn output(output: &ExecOutput) -> String {
    format!(
        "{{\"group\":{},\"path\":{}}}",
        text(&output.group),
        path_json(&output.path)
    )
}

/// SPEC §6's consumer paths by their names in a definition.
fn consume_name(path: ConsumePath) -> &'static str {
    match path {
        ConsumePath::OsCopy => "os_copy",
        ConsumePath::Fuse => "fuse",
        ConsumePath::ViewRepack => "view_repack",
        ConsumePath::AbiChunked => "abi_chunked",
        ConsumePath::PlainReader => "plain_reader",
        ConsumePath::OddReads => "odd_reads",
        ConsumePath::AsyncCopy => "async_copy",
        ConsumePath::AsyncReadBuf => "async_read_buf",
    }
}

/// A JSON string.
fn text(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A path as a JSON string (definitions hold UTF-8 paths; others are lossily shown).
fn path_json(path: &Path) -> String {
    text(&path.to_string_lossy())
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

/// What a key stands for: the driver, the definition bytes and the input hashouts sorted, as
/// SPEC §1 hashes them. Two targets with equal identities must share a key; two with different
/// identities must not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The driver name.
    pub driver: &'static str,
    /// The definition bytes.
    pub def: Vec<u8>,
    /// The input hashouts, sorted.
    pub inputs: Vec<String>,
}

impl Identity {
    /// The identity of a target with `driver` over inputs with `hashouts`.
    pub fn of(driver: &Driver, hashouts: &[&str]) -> Self {
        let mut inputs: Vec<String> = hashouts.iter().map(|h| h.to_string()).collect();
        inputs.sort_unstable();
        Identity {
            driver: driver_name(driver),
            def: def_bytes(driver),
            inputs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_encodings() {
        let check = |driver: Driver, json: &str| {
            assert_eq!(String::from_utf8(def_bytes(&driver)).unwrap(), json);
        };
        check(
            Driver::FsFile {
                path: "src/a \"q\".txt".into(),
            },
            r#"{"fs_file":{"path":"src/a \"q\".txt"}}"#,
        );
        check(
            Driver::FsGlob {
                patterns: vec!["src/g*.txt".into()],
                excludes: vec![],
            },
            r#"{"fs_glob":{"patterns":["src/g*.txt"],"excludes":[]}}"#,
        );
        check(
            Driver::Exec {
                steps: vec![
                    ExecStep::Concat { to: "out".into() },
                    ExecStep::Write {
                        path: "s".into(),
                        data: vec![0, 255],
                    },
                    ExecStep::Chmod {
                        path: "out".into(),
                        x: true,
                    },
                ],
                outputs: vec![ExecOutput {
                    group: "out".into(),
                    path: "out".into(),
                }],
                consume: ConsumePath::AsyncReadBuf,
            },
            concat!(
                r#"{"exec":{"steps":[{"concat":{"to":"out"}},{"write":{"path":"s","data":[0,255]}},"#,
                r#"{"chmod":{"path":"out","x":true}}],"outputs":[{"group":"out","path":"out"}],"#,
                r#""consume":"async_read_buf"}}"#
            ),
        );
        check(
            Driver::Group {
                relocate: "lib".into(),
            },
            r#"{"group":{"relocate":"lib"}}"#,
        );
        check(
            Driver::Plugin {
                sources: vec!["a\n".into()],
                concat_to: "c".into(),
            },
            r#"{"plugin":{"sources":["a\n"],"concat_to":"c"}}"#,
        );
    }

    #[test]
    fn identities_sort_inputs_and_tell_definitions_apart() {
        let glob = |p: &str| Driver::FsGlob {
            patterns: vec![p.into()],
            excludes: vec![],
        };
        let a = Identity::of(&glob("*.txt"), &["b", "a"]);
        assert_eq!(a, Identity::of(&glob("*.txt"), &["a", "b"]));
        assert_ne!(a, Identity::of(&glob("*.md"), &["a", "b"]));
        assert_ne!(a, Identity::of(&glob("*.txt"), &["a"]));
    }
}
