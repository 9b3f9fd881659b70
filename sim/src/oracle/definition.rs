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
    let mut out = String::with_capacity(128);
    out.push_str("{\"");
    out.push_str(driver_name(driver));
    out.push_str("\":{");
    match driver {
        Driver::FsFile { path } => field(&mut out, "path", |o| path_json(o, path)),
        Driver::FsGlob { patterns, excludes } => {
            field(&mut out, "patterns", |o| {
                list(o, patterns, |o, p| text(o, p))
            });
            out.push(',');
            field(&mut out, "excludes", |o| {
                list(o, excludes, |o, p| text(o, p))
            });
        }
        Driver::Exec {
            steps,
            outputs,
            consume,
        } => {
            field(&mut out, "steps", |o| list(o, steps, step_into));
            out.push(',');
            field(&mut out, "outputs", |o| list(o, outputs, output));
            out.push(',');
            field(&mut out, "consume", |o| text(o, consume_name(*consume)));
        }
        Driver::Group { relocate } => field(&mut out, "relocate", |o| path_json(o, relocate)),
        Driver::Plugin { sources, concat_to } => {
            field(&mut out, "sources", |o| {
                list(o, sources, |o, p| path_json(o, p))
            });
            out.push(',');
            field(&mut out, "concat_to", |o| path_json(o, concat_to));
        }
    }
    out.push_str("}}");
    out.into_bytes()
}

/// One exec step as a tagged object.
pub fn step(step: &ExecStep) -> String {
    let mut out = String::new();
    step_into(&mut out, step);
    out
}

fn step_into(out: &mut String, step: &ExecStep) {
    match step {
        ExecStep::Concat { to } => {
            out.push_str("{\"concat\":{");
            field(out, "to", |o| path_json(o, to));
        }
        ExecStep::Write { path, data } => {
            out.push_str("{\"write\":{");
            field(out, "path", |o| path_json(o, path));
            out.push(',');
            field(out, "data", |o| {
                list(o, data, |o, b| o.push_str(&b.to_string()))
            });
        }
        ExecStep::Chmod { path, x } => {
            out.push_str("{\"chmod\":{");
            field(out, "path", |o| path_json(o, path));
            out.push(',');
            field(out, "x", |o| o.push_str(if *x { "true" } else { "false" }));
        }
    }
    out.push_str("}}");
}

fn output(out: &mut String, output: &ExecOutput) {
    out.push('{');
    field(out, "group", |o| text(o, &output.group));
    out.push(',');
    field(out, "path", |o| path_json(o, &output.path));
    out.push('}');
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

/// `"name":value`.
fn field(out: &mut String, name: &str, value: impl FnOnce(&mut String)) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
    value(out);
}

/// A JSON string (RFC 8259 escaping, by `serde_json` from a plain `str`).
fn text(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::from(s).to_string());
    }
}

/// A path as a JSON string (definitions hold UTF-8 paths; others are lossily shown).
fn path_json(out: &mut String, path: &Path) {
    text(out, &path.to_string_lossy());
}

fn list<T>(out: &mut String, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, x);
    }
    out.push(']');
}

/// What a key stands for: the driver, the definition bytes and the input hashouts sorted, as
/// SPEC §1 hashes them, fingerprinted with every part delimited (128 bits: unlike SPEC §1's
/// key, `["a","ab"]` and `["aa","b"]` differ). Two targets with equal identities must share a
/// key; two with different identities must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity(u128);

impl Identity {
    /// The identity of a target with `driver` and definition bytes `def` over inputs with
    /// `hashouts`.
    pub fn of(driver: &Driver, def: &[u8], hashouts: &[&str]) -> Self {
        let mut inputs = hashouts.to_vec();
        inputs.sort_unstable();
        let mut state = xxhash_rust::xxh3::Xxh3::new();
        for part in [driver_name(driver).as_bytes(), def] {
            state.update(&(part.len() as u64).to_le_bytes());
            state.update(part);
        }
        for input in inputs {
            state.update(&(input.len() as u64).to_le_bytes());
            state.update(input.as_bytes());
        }
        Identity(state.digest128())
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
        let of = |p: &str, inputs: &[&str]| Identity::of(&glob(p), &def_bytes(&glob(p)), inputs);
        let a = of("*.txt", &["b", "a"]);
        assert_eq!(a, of("*.txt", &["a", "b"]));
        assert_ne!(a, of("*.md", &["a", "b"]));
        assert_ne!(a, of("*.txt", &["a"]));
        assert_ne!(
            of("*.txt", &["a", "ab"]),
            of("*.txt", &["aa", "b"]),
            "delimited"
        );
    }
}
