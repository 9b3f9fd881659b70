//! The error catalogue: the exact message of every user-facing engine error, each triggered for
//! real on MemFs (bad paths, bad graphs, malformed caches and wire data, verification failures),
//! and of the scenario-family loader. CLI errors are in `cli.rs`.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use engine::fs::{Fs, MemFs, MemFsConfig};
use engine::hash::bytes_hashout;
use engine::passthrough::PassthroughContent;
use engine::target::{Driver, ExecOutput, ExecStep};
use engine::{abi, CacheConfig, ConsumePath, Content, Ctx, Engine, EngineConfig, Graph, Target};
use sim::scenario::Scenario;

/// One catalogue line: what was done, the error's stable name, its message.
fn line(what: &str, name: &str, message: &str) -> String {
    format!("{what}\n  [{name}] {message}\n")
}

fn mem() -> Arc<dyn Fs> {
    Arc::new(MemFs::new(MemFsConfig::default()))
}

fn engine(fs: &Arc<dyn Fs>, targets: Vec<Target>) -> Arc<Engine> {
    let graph = Graph::new(targets).expect("a valid graph");
    Engine::new(Ctx::new(fs.clone()), graph, EngineConfig::default())
}

/// Builds `name` and renders its failure; a build that succeeds is a catalogue bug.
fn failure(what: &str, fs: &Arc<dyn Fs>, targets: Vec<Target>, name: &str) -> String {
    let out = engine(fs, targets).build_sync(name);
    let failure = out
        .failure
        .unwrap_or_else(|| panic!("{what}: the build succeeded"));
    let error = &failure.error;
    line(
        what,
        &format!("{}:{}", failure.target, error.name()),
        &error.to_string(),
    )
}

fn exec_with(outputs: &[(&str, &str)]) -> Target {
    let driver = Driver::Exec {
        steps: vec![ExecStep::Write {
            path: "o".into(),
            data: b"x".to_vec(),
        }],
        outputs: outputs
            .iter()
            .map(|(group, path)| ExecOutput {
                group: group.to_string(),
                path: path.into(),
            })
            .collect(),
        consume: ConsumePath::OsCopy,
    };
    Target {
        name: "run".into(),
        driver,
        inputs: vec![],
        cache: CacheConfig::CACHED,
    }
}

fn bad_sources(out: &mut String) {
    let fs = mem();
    fs.write(Path::new("dir/inner.txt"), b"x").unwrap();
    fs.write(Path::new("secret.txt"), b"s").unwrap();
    fs.set_mode(Path::new("secret.txt"), 0o000).unwrap();
    fs.symlink(Path::new("loop2"), Path::new("loop1")).unwrap();
    fs.symlink(Path::new("loop1"), Path::new("loop2")).unwrap();
    let file = |path: &str| vec![Target::fs_file("s", path)];
    out.push_str(&failure(
        "fs:file of a missing path",
        &fs,
        file("missing.txt"),
        "s",
    ));
    out.push_str(&failure("fs:file of a directory", &fs, file("dir"), "s"));
    out.push_str(&failure(
        "fs:file of a symlink loop",
        &fs,
        file("loop1"),
        "s",
    ));
    out.push_str(&failure(
        "fs:file of a mode-000 file",
        &fs,
        file("secret.txt"),
        "s",
    ));
    out.push_str(&failure(
        "fs:file of a path with `..`",
        &fs,
        file("../etc/passwd"),
        "s",
    ));
    out.push_str(&failure(
        "fs:file of an absolute path",
        &fs,
        file("/etc/passwd"),
        "s",
    ));
    let glob = vec![Target::fs_glob("s", &["a[.txt"], &[])];
    out.push_str(&failure("fs:glob with a bad pattern", &fs, glob, "s"));
}

fn bad_outputs(out: &mut String) {
    let fs = mem();
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("exec output with `..`", &[("out", "../o")]),
        ("exec output at an absolute path", &[("out", "/abs")]),
        (
            "exec outputs with a duplicate group",
            &[("out", "o"), ("out", "o")],
        ),
        ("exec output never written", &[("out", "not-written")]),
    ];
    for (what, outputs) in cases {
        out.push_str(&failure(what, &fs, vec![exec_with(outputs)], "run"));
    }
    fs.write(Path::new("x.txt"), b"x").unwrap();
    let collide = vec![
        Target::fs_file("a", "x.txt"),
        Target::fs_file("b", "x.txt"),
        Target::concat("c", &["a", "b"], ConsumePath::OsCopy, CacheConfig::CACHED),
    ];
    out.push_str(&failure(
        "two inputs providing the same path",
        &fs,
        collide,
        "c",
    ));
    let view = vec![
        Target::fs_file("a", "x.txt"),
        Target::group("g", &["a"], "lib"),
        Target::plugin("p", &["g"], &[], CacheConfig::UNCACHED),
    ];
    out.push_str(&failure("a View given to a plugin", &fs, view, "p"));
}

fn bad_graphs(out: &mut String) {
    let graph = |what: &str, targets: Vec<Target>, root: &str| {
        let error = Graph::new(targets)
            .and_then(|g| g.order(root).map(|_| ()))
            .expect_err(what);
        line(what, error.name(), &error.to_string())
    };
    let dup = vec![Target::fs_file("a", "x"), Target::fs_file("a", "y")];
    out.push_str(&graph("two targets named alike", dup, "a"));
    let concat = |name: &str, input: &str| {
        Target::concat(name, &[input], ConsumePath::OsCopy, CacheConfig::CACHED)
    };
    out.push_str(&graph("an unknown input", vec![concat("c", "nope")], "c"));
    out.push_str(&graph(
        "a dependency cycle",
        vec![concat("a", "b"), concat("b", "a")],
        "a",
    ));
    out.push_str(&graph(
        "an unknown root target",
        vec![Target::fs_file("a", "x")],
        "zzz",
    ));
}

/// Builds `mid` (cached) and returns its cache key and tar path.
fn cached_mid(fs: &Arc<dyn Fs>, targets: &[Target]) -> (String, std::path::PathBuf) {
    let mid = engine(fs, targets.to_vec())
        .build_sync("mid")
        .into_result()
        .expect("mid builds");
    let Content::Tar(tar) = &mid.artifacts[0].content else {
        panic!("mid packs its output")
    };
    (mid.hashin.clone(), tar.clone())
}

fn bad_caches(out: &mut String) {
    // A damaged entry is a miss (rewritten, never an error); what is left to report is a
    // sound manifest under the wrong key, and a tar read back after it was damaged.
    let fs = mem();
    fs.write(Path::new("a.txt"), b"a").unwrap();
    fs.write(Path::new("b.txt"), b"b").unwrap();
    let targets = vec![
        Target::fs_file("src", "a.txt"),
        Target::fs_file("other", "b.txt"),
        Target::concat("mid", &["src"], ConsumePath::OsCopy, CacheConfig::CACHED),
        Target::concat("alt", &["other"], ConsumePath::OsCopy, CacheConfig::CACHED),
    ];
    let (key, tar) = cached_mid(&fs, &targets);
    let built = engine(&fs, targets.clone()).build_sync("alt").into_result();
    let alt = built.expect("alt builds").hashin;
    let manifest = |key: &str| Path::new(".heph/cache").join(key).join("manifest.json");
    let sound = fs.read(&manifest(&alt), 1 << 20).unwrap();
    fs.write(&manifest(&key), &sound).unwrap();
    out.push_str(&failure(
        "a sound manifest written for another key",
        &fs,
        targets.clone(),
        "mid",
    ));
    let engine = engine(&fs, targets);
    engine.build_sync("alt");
    let alt_tar = Path::new(".heph/cache").join(&alt).join("out_out.tar");
    fs.write(&alt_tar, b"definitely not the tar that was written")
        .unwrap();
    let error = engine.store().read_tar(&alt_tar).expect_err("damaged");
    out.push_str(&line(
        "a cache tar damaged after it was written",
        error.name(),
        &error.to_string(),
    ));
    let _ = tar;
}

fn bad_wire(out: &mut String) {
    // A frame: the JSON header's length (4 bytes, big-endian), the header, then a payload.
    let framed = |header: &[u8], payload: &[u8]| {
        let len = u32::try_from(header.len()).unwrap().to_be_bytes();
        [&len[..], header, payload].concat()
    };
    let tar = br#"{"group":"g","kind":"Output","content":{"kind":"tar","path":"t"},"hashout":"1"}"#;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("wire bytes shorter than a frame", b"\x00\x01".to_vec()),
        (
            "a frame whose header runs past the end",
            b"\x00\x01garbage".to_vec(),
        ),
        ("a header that is not JSON", framed(b"garbage", b"")),
        (
            "a wire artifact missing its content",
            framed(br#"{"group":"out","kind":"Output","hashout":"1"}"#, b""),
        ),
        (
            "a wire View",
            framed(
                br#"{"group":"g","kind":"Output","content":{"kind":"view"},"hashout":"1"}"#,
                b"",
            ),
        ),
        ("payload bytes after a Tar", framed(tar, b"xyz")),
    ];
    for (what, bytes) in cases {
        let error = abi::decode(&bytes).expect_err(what);
        out.push_str(&line(what, error.name(), &error.to_string()));
    }
}

/// Reads a passthrough source through its verifying reader, as a consumer would.
fn read_verified(fs: &Arc<dyn Fs>, hashed: &[u8], x: bool) -> std::io::Result<Vec<u8>> {
    let content = PassthroughContent::new(
        Ctx::new(fs.clone()),
        Path::new("go.mod"),
        Path::new("mgmt/go/go.mod"),
        x,
        &bytes_hashout(hashed, x),
    );
    let mut bytes = Vec::new();
    content.reader()?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn verification(out: &mut String) {
    let fs = mem();
    fs.write(Path::new("go.mod"), b"module tampered\n").unwrap();
    let mut io = |what: &str, result: std::io::Result<Vec<u8>>| {
        let error = result.expect_err(what);
        out.push_str(&line(
            what,
            &format!("{:?}", error.kind()),
            &error.to_string(),
        ));
    };
    io(
        "reading a source edited after hashing",
        read_verified(&fs, b"module example\n", false),
    );
    io(
        "reading a source truncated after hashing",
        read_verified(&fs, b"module tampered\nrequire other v1\n", false),
    );
    fs.remove_file(Path::new("go.mod")).unwrap();
    io(
        "opening a source deleted after hashing",
        read_verified(&fs, b"module example\n", false),
    );
}

#[test]
fn engine_error_catalogue() {
    let mut out = String::new();
    for (title, section) in [
        ("bad sources", bad_sources as fn(&mut String)),
        ("bad outputs and inputs", bad_outputs),
        ("bad build graphs", bad_graphs),
        ("malformed caches", bad_caches),
        ("malformed plugin wire data", bad_wire),
        (
            "verification failures (io::Error kind and message)",
            verification,
        ),
    ] {
        out.push_str(&format!("=== {title} ===\n"));
        section(&mut out);
        out.push('\n');
    }
    insta::assert_snapshot!("engine_errors", out);
}

#[test]
fn scenario_file_error_catalogue() {
    let path = Path::new("scenarios/example.toml");
    let head = "about = \"x\"\n[[scenario]]\nname = \"s\"\ndescription = \"d\"\n";
    let ok_rest = "expect = [\"ok\", \"ok\"]\nfiles = [{ size = 1 }]\nconsumers = [{ inputs = [{ file = 0 }] }]\n";
    let cases: Vec<(&str, String)> = vec![
        ("not TOML", "about = \n".into()),
        ("no scenarios", "about = \"x\"\n".into()),
        (
            "an empty about",
            format!("{}{ok_rest}", head.replace("about = \"x\"", "about = \" \"")),
        ),
        ("an unknown field", format!("{head}{ok_rest}colour = \"red\"\n")),
        (
            "an unknown mutation kind",
            format!("{head}{ok_rest}mutations = [{{ file = 0, kind = \"melt\", point = {{ point = \"at_eof\" }} }}]\n"),
        ),
        (
            "an unknown consumer path",
            format!("{head}expect = [\"ok\", \"ok\"]\nfiles = [{{ size = 1 }}]\nconsumers = [{{ inputs = [{{ file = 0 }}], via = \"carrier_pigeon\" }}]\n"),
        ),
        ("one expected outcome", format!("{head}expect = [\"ok\"]\nfiles = [{{ size = 1 }}]\nconsumers = [{{ inputs = [\"glob\"] }}]\n")),
        ("a glob input without globbed files", format!("{head}expect = [\"ok\", \"ok\"]\nfiles = [{{ size = 1 }}]\nconsumers = [{{ inputs = [\"glob\"] }}]\n")),
        ("no consumers", format!("{head}expect = [\"ok\", \"ok\"]\nfiles = [{{ size = 1 }}]\nconsumers = []\n")),
        ("a plugin reading by OS copy", format!("{head}expect = [\"ok\", \"ok\"]\nfiles = [{{ size = 1 }}]\nconsumers = [{{ inputs = [{{ file = 0 }}], plugin = true, via = \"os_copy\" }}]\n")),
        (
            "a point naming a missing consumer",
            format!("{head}{ok_rest}mutations = [{{ file = 0, kind = \"touch\", point = {{ point = \"after_hashin\", consumer = 3 }} }}]\n"),
        ),
        ("an oversized file", format!("{head}expect = [\"ok\", \"ok\"]\nfiles = [{{ size = 1000000 }}]\nconsumers = [{{ inputs = [{{ file = 0 }}] }}]\n")),
        ("a duplicate name", format!("{head}{ok_rest}[[scenario]]\nname = \"s\"\ndescription = \"d\"\n{ok_rest}")),
    ];
    let mut out = String::new();
    for (what, text) in cases {
        let error = snapshots::family::parse(path, &text).expect_err(what);
        out.push_str(&format!("{what}\n  {}\n", error.replace('\n', "\n  ")));
    }
    let missing =
        snapshots::family::load(Path::new("scenarios/missing.toml")).expect_err("missing");
    out.push_str(&format!("a missing family file\n  {missing}\n"));
    let mut scenario: Scenario = serde_json::from_str(
        r#"{"files":[{"size":1,"fill":0,"x":false,"globbed":false,"link_to":0}],"view":[],"consumers":[],"mutations":[]}"#,
    )
    .expect("parses");
    out.push_str(&format!(
        "a scenario (sim replay --scenario) whose file links to itself\n  {}\n",
        scenario.validate().expect_err("self link")
    ));
    scenario.files.clear();
    out.push_str(&format!(
        "a scenario with no files\n  {}\n",
        scenario.validate().expect_err("no files")
    ));
    insta::assert_snapshot!("scenario_file_errors", out);
}
