//! Every bad input gets a typed error naming the path and what was wrong; never a panic.

mod common;

use std::path::Path;

use common::{both, outcome, World};
use engine::target::{Driver, ExecOutput, ExecStep};
use engine::{CacheConfig, ConsumePath, EngineError, Graph, Target};

/// Builds `target` from `targets`; checks the failure's name and that its message contains `needle`.
fn check(world: &World, targets: Vec<Target>, target: &str, expected: &str, needle: &str) {
    let out = world.engine(targets, None).build_sync(target);
    assert_eq!(outcome(&out), expected, "{:?}", world.kind);
    let message = out.failure.unwrap().error.to_string();
    assert!(
        message.contains(needle),
        "{:?}: {message:?} lacks {needle:?}",
        world.kind
    );
}

fn exec_with(outputs: &[(&str, &str)]) -> Target {
    let driver = Driver::Exec {
        steps: vec![ExecStep::Write {
            path: "o".into(),
            data: b"x".to_vec(),
        }],
        outputs: outputs
            .iter()
            .map(|(g, p)| ExecOutput {
                group: g.to_string(),
                path: p.into(),
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

#[test]
fn bad_sources() {
    both(|world| {
        world.write("dir/inner.txt", b"x").write("a.txt", b"a");
        world
            .fs
            .symlink(Path::new("loop2"), Path::new("loop1"))
            .unwrap();
        world
            .fs
            .symlink(Path::new("loop1"), Path::new("loop2"))
            .unwrap();
        check(
            world,
            vec![Target::fs_file("s", "missing.txt")],
            "s",
            "s:not_found",
            "missing source missing.txt",
        );
        check(
            world,
            vec![Target::fs_file("s", "dir")],
            "s",
            "s:not_a_file",
            "dir is a directory",
        );
        check(
            world,
            vec![Target::fs_file("s", "loop1")],
            "s",
            "s:symlink_loop",
            "symlink loop while resolving loop1",
        );
        check(
            world,
            vec![Target::fs_file("s", "../etc/passwd")],
            "s",
            "s:path_escape",
            "source path ../etc/passwd escapes the workspace: contains `..`",
        );
        check(
            world,
            vec![Target::fs_file("s", "/etc/passwd")],
            "s",
            "s:path_escape",
            "source path /etc/passwd escapes the workspace: absolute",
        );
        check(
            world,
            vec![Target::fs_glob("s", &["a[.txt"], &[])],
            "s",
            "s:bad_glob",
            "a[.txt",
        );
    });
}

#[test]
fn bad_exec_outputs() {
    both(|world| {
        check(
            world,
            vec![exec_with(&[("out", "../o")])],
            "run",
            "run:path_escape",
            "../o",
        );
        check(
            world,
            vec![exec_with(&[("out", "/abs")])],
            "run",
            "run:path_escape",
            "absolute",
        );
        check(
            world,
            vec![exec_with(&[("out", "o"), ("out", "o")])],
            "run",
            "run:duplicate_group",
            "\"out\" in target run",
        );
        check(
            world,
            vec![exec_with(&[("out", "not-written")])],
            "run",
            "run:not_found",
            "not-written",
        );
    });
}

#[test]
fn permission_denied_is_typed() {
    // Root ignores permission bits on a real disk, so this case runs on MemFs only.
    let world = World::new(common::Kind::Mem);
    world.write("secret.txt", b"s");
    world.fs.set_mode(Path::new("secret.txt"), 0o000).unwrap();
    check(
        &world,
        vec![Target::fs_file("s", "secret.txt")],
        "s",
        "s:permission_denied",
        "permission denied: secret.txt",
    );
}

/// A damaged cache entry (a tar or manifest cut off, corrupted, replaced or too large) is a
/// miss, never served and never an error: the target runs again and rewrites a sound entry.
#[test]
fn damaged_cache_entries_are_misses_and_rewritten() {
    type Damage = fn(&World, &Path, &Path);
    let damages: [(&str, Damage); 5] = [
        ("tar replaced", |w, tar, _| {
            w.fs.write(tar, b"not a tar").unwrap()
        }),
        ("tar cut off", |w, tar, _| w.fs.set_len(tar, 700).unwrap()),
        ("tar deleted", |w, tar, _| w.fs.remove_file(tar).unwrap()),
        ("manifest not json", |w, _, m| {
            w.fs.write(m, b"{not json").unwrap()
        }),
        ("manifest too large", |w, _, m| {
            let big = vec![b' '; (engine::cache::local::MAX_MANIFEST_BYTES + 1) as usize];
            w.fs.write(m, &big).unwrap()
        }),
    ];
    for (what, damage) in damages {
        both(|world| {
            world.write("a.txt", b"a");
            let targets = vec![
                Target::fs_file("src", "a.txt"),
                Target::concat("mid", &["src"], ConsumePath::OsCopy, CacheConfig::CACHED),
                Target::concat("use", &["mid"], ConsumePath::OsCopy, CacheConfig::UNCACHED),
            ];
            let mid = world.engine(targets.clone(), None).build_sync("mid");
            let mid = mid.into_result().unwrap();
            let engine::Content::Tar(tar) = &mid.artifacts[0].content else {
                panic!("mid packs")
            };
            let manifest = Path::new(".heph/cache")
                .join(&mid.hashin)
                .join("manifest.json");
            damage(world, tar, &manifest);
            let engine = world.engine(targets.clone(), None);
            let out = engine.build_sync("use");
            assert_eq!(outcome(&out), "ok", "{what} {:?}", world.kind);
            assert!(
                !out.get("mid").unwrap().cache_hit,
                "{what}: a damaged entry is a miss"
            );
            let again = world.engine(targets, None).build_sync("use");
            assert!(
                again.get("mid").unwrap().cache_hit,
                "{what}: the rewritten entry hits"
            );
        });
    }
}

#[test]
fn a_manifest_written_for_another_key_is_malformed() {
    both(|world| {
        world.write("a.txt", b"a");
        world.write("b.txt", b"b");
        let targets = vec![
            Target::fs_file("a", "a.txt"),
            Target::fs_file("b", "b.txt"),
            Target::concat("ua", &["a"], ConsumePath::OsCopy, CacheConfig::CACHED),
            Target::concat("ub", &["b"], ConsumePath::OsCopy, CacheConfig::CACHED),
        ];
        let engine = world.engine(targets.clone(), None);
        let ka = engine.build_sync("ua").into_result().unwrap().hashin;
        let kb = engine.build_sync("ub").into_result().unwrap().hashin;
        let from = Path::new(".heph/cache").join(&ka).join("manifest.json");
        let bytes = world.fs.read(&from, 1 << 20).unwrap();
        let to = Path::new(".heph/cache").join(&kb).join("manifest.json");
        world.fs.write(&to, &bytes).unwrap();
        check(
            world,
            targets,
            "ub",
            "ub:malformed_manifest",
            "written for key",
        );
    });
}

#[test]
fn bad_graphs() {
    let dup = Graph::new(vec![Target::fs_file("a", "x"), Target::fs_file("a", "y")]).unwrap_err();
    assert!(
        dup.to_string().contains("duplicate target name \"a\""),
        "{dup}"
    );
    let unknown = Graph::new(vec![Target::concat(
        "c",
        &["nope"],
        ConsumePath::OsCopy,
        CacheConfig::CACHED,
    )])
    .unwrap_err();
    assert!(
        unknown.to_string().contains("unknown input \"nope\""),
        "{unknown}"
    );
    let mut a = Target::concat("a", &["b"], ConsumePath::OsCopy, CacheConfig::CACHED);
    let b = Target::concat("b", &["a"], ConsumePath::OsCopy, CacheConfig::CACHED);
    let cycle = Graph::new(vec![a.clone(), b])
        .unwrap()
        .order("a")
        .unwrap_err();
    assert!(
        matches!(cycle, EngineError::Graph(ref m) if m.contains("cycle")),
        "{cycle}"
    );
    a.inputs.clear();
    assert!(Graph::new(vec![a]).unwrap().order("zzz").is_err());
}

#[test]
fn views_cannot_cross_the_plugin_abi() {
    both(|world| {
        world.write("a.txt", b"a");
        let targets = vec![
            Target::fs_file("src", "a.txt"),
            Target::group("g", &["src"], "lib"),
            Target::plugin("p", &["g"], &[], CacheConfig::UNCACHED),
        ];
        check(
            world,
            targets,
            "p",
            "p:view_across_abi",
            "cannot cross the plugin ABI",
        );
    });
}

#[test]
fn glob_follows_file_symlinks_but_not_directory_symlinks_and_bounds_depth() {
    both(|world| {
        world
            .write("g/real.txt", b"r")
            .write("g/sub/inner.txt", b"i");
        world
            .fs
            .symlink(Path::new("real.txt"), Path::new("g/link.txt"))
            .unwrap();
        // Matched by `g/**` itself: walking must not list it (hashing it would fail).
        world
            .fs
            .symlink(Path::new("sub"), Path::new("g/dirlink"))
            .unwrap();
        let out = world
            .engine(vec![Target::fs_glob("s", &["g/**"], &[])], None)
            .build_sync("s");
        let groups: Vec<String> = out
            .into_result()
            .unwrap()
            .artifacts
            .iter()
            .map(|a| a.group.clone())
            .collect();
        assert_eq!(
            groups,
            ["g/link.txt", "g/real.txt", "g/sub/inner.txt"],
            "{:?}",
            world.kind
        );
        let deep: String = (0..=engine::drivers::MAX_GLOB_DEPTH)
            .map(|i| format!("d{i}/"))
            .collect();
        world.write(&format!("{deep}f.txt"), b"deep");
        check(
            world,
            vec![Target::fs_glob("s", &["**/f.txt"], &[])],
            "s",
            "s:limit",
            "glob depth",
        );
        let ok: String = (0..engine::drivers::MAX_GLOB_DEPTH)
            .map(|i| format!("e{i}/"))
            .collect();
        world.fs.remove_dir_all(Path::new("d0")).unwrap();
        world.write(&format!("{ok}f.txt"), b"ok");
        let out = world
            .engine(vec![Target::fs_glob("s", &["**/f.txt"], &[])], None)
            .build_sync("s");
        assert_eq!(
            out.into_result().unwrap().artifacts.len(),
            1,
            "{:?}: depth at the limit is fine",
            world.kind
        );
    });
}

#[test]
fn a_file_where_the_sandbox_goes_is_an_error_naming_it() {
    both(|world| {
        world.write(".heph/sandbox/run", b"squatter");
        let out = world
            .engine(vec![exec_with(&[("out", "o")])], None)
            .build_sync("run");
        let message = out.failure.expect("fails").error.to_string();
        assert!(message.contains(".heph/sandbox/run"), "{message}");
        assert!(
            message.contains("ot a directory"),
            "{:?}: {message}",
            world.kind
        );
    });
}
