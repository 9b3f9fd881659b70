//! The pipeline end to end, on MemFs and DiskFs: gating, caching, sandboxes, consumer paths and
//! mutations at probe points. Each case is one line through `check`.

mod common;

use std::path::Path;

use common::{both, outcome, Once, World};
use engine::fs::Fs;
use engine::probe::Probe;
use engine::{CacheConfig, ConsumePath, Event, Target};

type Mutation = fn(&dyn Fs);

/// The graph most cases use: `src` (fs:file of `a.txt`) consumed by `use`.
fn src_and_use(via: ConsumePath, cache: CacheConfig) -> Vec<Target> {
    vec![
        Target::fs_file("src", "a.txt"),
        Target::concat("use", &["src"], via, cache),
    ]
}

fn at_consume(p: &Probe<'_>) -> bool {
    matches!(p, Probe::BeforeConsume { .. })
}
fn at_open(p: &Probe<'_>) -> bool {
    matches!(p, Probe::OpenPassthrough { .. })
}
fn after_hashin_of_use(p: &Probe<'_>) -> bool {
    matches!(p, Probe::AfterHashin { target: "use", .. })
}
fn after_chunk0(p: &Probe<'_>) -> bool {
    matches!(p, Probe::AfterReadChunk { index: 0, .. })
}
fn at_eof(p: &Probe<'_>) -> bool {
    matches!(p, Probe::AtEof { .. })
}

/// Builds `src` (fs:file of `a.txt` with `content`) consumed by `use` via `via`, firing
/// `mutation` at the first probe matching `when`; checks the outcome and, on success, the bytes.
fn check(
    content: &[u8],
    via: ConsumePath,
    when: fn(&Probe<'_>) -> bool,
    mutation: Mutation,
    expected: &str,
) {
    both(|world: &World| {
        world.write("a.txt", content);
        let targets = src_and_use(via, CacheConfig::CACHED);
        let engine = world.engine(targets, Some(Once::arc(when, mutation)));
        let out = engine.build_sync("use");
        assert_eq!(outcome(&out), expected, "{:?} via {via:?}", world.kind);
        if expected == "ok" {
            let delivered = &out.get("use").unwrap().delivered;
            assert_eq!(delivered.len(), 1);
            assert_eq!(
                delivered[0].data, content,
                "{:?}: delivered bytes",
                world.kind
            );
        }
    });
}

fn rewrite(fs: &dyn Fs) {
    fs.write(Path::new("a.txt"), b"other bytes, other size")
        .unwrap();
}
fn same_size_edit(fs: &dyn Fs) {
    let len = fs.metadata(Path::new("a.txt")).unwrap().len as usize;
    fs.write(Path::new("a.txt"), &vec![b'#'; len]).unwrap();
}
fn append(fs: &dyn Fs) {
    let mut data = fs.read(Path::new("a.txt"), 1 << 30).unwrap();
    data.push(b'!');
    fs.write(Path::new("a.txt"), &data).unwrap();
}
fn truncate(fs: &dyn Fs) {
    fs.set_len(Path::new("a.txt"), 1).unwrap();
}
fn delete(fs: &dyn Fs) {
    fs.remove_file(Path::new("a.txt")).unwrap();
}
fn rename_over(fs: &dyn Fs) {
    fs.write(Path::new("new.txt"), b"replacement").unwrap();
    fs.rename(Path::new("new.txt"), Path::new("a.txt")).unwrap();
}
fn chmod_x(fs: &dyn Fs) {
    fs.set_mode(Path::new("a.txt"), 0o755).unwrap();
}
fn touch(fs: &dyn Fs) {
    fs.set_mtime(Path::new("a.txt"), 42_000_000_000).unwrap();
}
fn identical(fs: &dyn Fs) {
    let data = fs.read(Path::new("a.txt"), 1 << 30).unwrap();
    fs.write(Path::new("a.txt"), &data).unwrap();
}

const HELLO: &[u8] = b"hello world\n";

#[test]
fn mutations_at_probe_points() {
    let big: Vec<u8> = (0..200_000usize).map(|i| (i % 251) as u8).collect();
    check(HELLO, ConsumePath::OsCopy, at_consume, identical, "ok");
    check(
        HELLO,
        ConsumePath::OsCopy,
        after_hashin_of_use,
        rewrite,
        "use:invalid_data",
    );
    check(
        HELLO,
        ConsumePath::OsCopy,
        after_hashin_of_use,
        same_size_edit,
        "use:invalid_data",
    );
    check(
        HELLO,
        ConsumePath::OsCopy,
        at_consume,
        delete,
        "use:not_found",
    );
    check(HELLO, ConsumePath::OsCopy, at_open, delete, "ok");
    check(HELLO, ConsumePath::OsCopy, at_open, rename_over, "ok");
    check(
        HELLO,
        ConsumePath::OsCopy,
        at_consume,
        rename_over,
        "use:invalid_data",
    );
    check(
        HELLO,
        ConsumePath::OsCopy,
        at_open,
        truncate,
        "use:invalid_data",
    );
    check(HELLO, ConsumePath::OsCopy, at_consume, chmod_x, "ok");
    check(HELLO, ConsumePath::OsCopy, at_consume, touch, "ok");
    check(
        &big,
        ConsumePath::OsCopy,
        after_chunk0,
        append,
        "use:invalid_data",
    );
    check(
        &big,
        ConsumePath::Fuse,
        after_chunk0,
        same_size_edit,
        "use:invalid_data",
    );
    check(
        &big,
        ConsumePath::ViewRepack,
        after_chunk0,
        truncate,
        "use:invalid_data",
    );
    check(
        &big,
        ConsumePath::PlainReader,
        after_chunk0,
        append,
        "use:invalid_data",
    );
    check(
        &big,
        ConsumePath::AbiChunked,
        after_chunk0,
        append,
        "use:invalid_data",
    );
    check(&big, ConsumePath::OsCopy, at_eof, rewrite, "ok");
    check(b"", ConsumePath::OsCopy, at_consume, identical, "ok");
    check(
        b"",
        ConsumePath::OsCopy,
        at_consume,
        append,
        "use:invalid_data",
    );
}

#[test]
fn source_only_targets_never_write_the_cache() {
    both(|world| {
        world.write("a.txt", HELLO);
        let engine = world.engine(vec![Target::fs_file("src", "a.txt")], None);
        let out = engine.build_sync("src");
        assert_eq!(outcome(&out), "ok");
        let events = engine.ctx().trace.events();
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::Passthrough { .. })));
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::CacheWriteStart { .. })),
            "{events:?}"
        );
        assert_eq!(out.get("src").unwrap().cache_key, None);
    });
}

#[test]
fn files_generated_in_place_produce_no_artifact() {
    both(|world| {
        world
            .write(".heph/gen.txt", HELLO)
            .write("src/.heph-out", HELLO);
        world.write("src/heph.txt", HELLO);
        for (path, artifacts) in [
            (".heph/gen.txt", 0),
            ("src/.heph-out", 0),
            ("src/heph.txt", 1),
        ] {
            let engine = world.engine(vec![Target::fs_file("s", path)], None);
            let out = engine.build_sync("s");
            assert_eq!(outcome(&out), "ok", "{path}");
            assert_eq!(out.get("s").unwrap().artifacts.len(), artifacts, "{path}");
        }
    });
}

#[test]
fn cacheable_consumer_packs_and_hits_on_rebuild() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = src_and_use(ConsumePath::OsCopy, CacheConfig::CACHED);
        let engine = world.engine(targets, None);
        let first = engine.build_sync("use").into_result().unwrap();
        assert!(!first.cache_hit);
        assert_eq!(
            first.cache_key.as_deref(),
            Some(first.hashin.as_str()),
            "cacheable key is the hashin"
        );
        let second = engine.build_sync("use").into_result().unwrap();
        assert!(second.cache_hit);
        assert_eq!(second.artifacts, first.artifacts);
        let entries = engine.store().read_tar(match &first.artifacts[0].content {
            engine::Content::Tar(path) => path,
            other => panic!("{other:?}"),
        });
        assert_eq!(entries.unwrap()[0].data, HELLO);
        assert!(
            !world.fs.exists(&engine.sandbox_dir("use")),
            "sandbox deleted after caching"
        );
    });
}

#[test]
fn tmp_consumer_key_has_engine_clock_nanos() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = src_and_use(ConsumePath::OsCopy, CacheConfig::UNCACHED);
        let engine = world.engine(targets, None);
        let result = engine.build_sync("use").into_result().unwrap();
        let key = result.cache_key.unwrap();
        let (hashin, nanos) = key.split_once('_').unwrap();
        assert_eq!(hashin, result.hashin);
        assert!(nanos.parse::<u64>().unwrap() > 0);
    });
}

#[test]
fn plugin_outputs_always_pack() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = vec![Target::plugin(
            "plug",
            &[],
            &["a.txt"],
            CacheConfig::UNCACHED,
        )];
        let engine = world.engine(targets, None);
        let result = engine.build_sync("plug").into_result().unwrap();
        assert!(
            result
                .artifacts
                .iter()
                .all(|a| matches!(a.content, engine::Content::Tar(_))),
            "{:?}",
            result.artifacts
        );
        let events = engine.ctx().trace.events();
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::CacheWriteStart { .. })));
        assert!(!events
            .iter()
            .any(|e| matches!(e, Event::Passthrough { .. })));
    });
}

#[test]
fn plugin_consumer_reads_in_abi_chunks_and_keeps_invalid_data() {
    both(|world| {
        world.write("a.txt", &vec![5u8; 100_000]);
        let targets = vec![
            Target::fs_file("src", "a.txt"),
            Target::plugin("plug", &["src"], &[], CacheConfig::UNCACHED),
        ];
        let engine = world.engine(targets, Some(Once::arc(after_chunk0, append)));
        assert_eq!(outcome(&engine.build_sync("plug")), "plug:invalid_data");
    });
}

#[test]
fn group_view_passes_through_and_relocates() {
    both(|world| {
        world.write("a.txt", HELLO).write("b.txt", b"bee");
        let targets = vec![
            Target::fs_file("a", "a.txt"),
            Target::fs_file("b", "b.txt"),
            Target::group("g", &["a", "b"], "lib"),
            Target::concat("use", &["g"], ConsumePath::ViewRepack, CacheConfig::CACHED),
        ];
        let engine = world.engine(targets, None);
        let out = engine.build_sync("use");
        assert_eq!(outcome(&out), "ok");
        assert!(matches!(
            out.get("g").unwrap().artifacts[0].content,
            engine::Content::View(_)
        ));
        let paths: Vec<_> = out
            .get("use")
            .unwrap()
            .delivered
            .iter()
            .map(|d| d.path.clone())
            .collect();
        assert_eq!(paths, vec![Path::new("lib/a.txt"), Path::new("lib/b.txt")]);
    });
}

#[test]
fn fuse_mounts_cached_inputs_and_copies_passthrough() {
    both(|world| {
        world.write("a.txt", HELLO).write("b.txt", b"bee");
        let targets = vec![
            Target::fs_file("a", "a.txt"),
            Target::fs_file("b", "b.txt"),
            Target::concat("mid", &["b"], ConsumePath::OsCopy, CacheConfig::CACHED),
            Target::concat("use", &["a", "mid"], ConsumePath::Fuse, CacheConfig::CACHED),
        ];
        let engine = world.engine(targets, None);
        let out = engine.build_sync("use");
        assert_eq!(outcome(&out), "ok");
        let via: Vec<_> = out
            .get("use")
            .unwrap()
            .delivered
            .iter()
            .map(|d| (d.path.to_string_lossy().into_owned(), d.via))
            .collect();
        let expected = [
            ("a.txt", ConsumePath::OsCopy),
            ("out", ConsumePath::Fuse),
            ("exec.log", ConsumePath::Fuse),
        ];
        assert_eq!(via, expected.map(|(p, v)| (p.to_string(), v)));
    });
}

#[test]
fn two_inputs_at_one_path_collide() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = vec![
            Target::fs_file("a", "a.txt"),
            Target::fs_file("a2", "a.txt"),
            Target::concat(
                "use",
                &["a", "a2"],
                ConsumePath::OsCopy,
                CacheConfig::CACHED,
            ),
        ];
        let out = world.engine(targets, None).build_sync("use");
        assert_eq!(outcome(&out), "use:collision");
        let message = out.failure.unwrap().error.to_string();
        assert!(
            message.contains("a.txt") && message.contains("use"),
            "{message}"
        );
        for via in [
            ConsumePath::Fuse,
            ConsumePath::ViewRepack,
            ConsumePath::PlainReader,
            ConsumePath::AbiChunked,
        ] {
            let targets = vec![
                Target::fs_file("a", "a.txt"),
                Target::fs_file("a2", "a.txt"),
                Target::concat("use", &["a", "a2"], via, CacheConfig::CACHED),
            ];
            let out = world.engine(targets, None).build_sync("use");
            assert_eq!(outcome(&out), "use:collision", "{via:?}");
        }
    });
}

#[test]
fn copies_read_64_kib_plain_readers_8_kib_and_plugins_32_kib_at_a_time() {
    both(|world| {
        world.write("a.txt", &[7u8; 40 * 1024]);
        for (via, expected) in [
            (ConsumePath::OsCopy, vec![40 * 1024]),
            (ConsumePath::PlainReader, vec![8192; 5]),
            (ConsumePath::AbiChunked, vec![32_768, 8192]),
        ] {
            let targets = src_and_use(via, CacheConfig::UNCACHED);
            let engine = world.engine(targets, None);
            engine.build_sync("use").into_result().unwrap();
            let reads: Vec<usize> = engine
                .ctx()
                .trace
                .events()
                .iter()
                .filter_map(|e| match e {
                    Event::Read { len, .. } => Some(*len),
                    _ => None,
                })
                .collect();
            assert_eq!(reads, expected, "{via:?} on {:?}", world.kind);
        }
    });
}

#[test]
fn chmod_after_hash_delivers_the_recorded_exec_bit() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = src_and_use(ConsumePath::OsCopy, CacheConfig::CACHED);
        let engine = world.engine(targets, Some(Once::arc(at_consume, chmod_x)));
        let out = engine.build_sync("use");
        assert_eq!(outcome(&out), "ok");
        assert!(
            !out.get("use").unwrap().delivered[0].x,
            "recorded x, not live"
        );
    });
}

#[test]
fn exec_sandbox_is_deleted_and_failed_sandbox_is_kept() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = src_and_use(ConsumePath::OsCopy, CacheConfig::CACHED);
        let failing = world.engine(
            targets.clone(),
            Some(Once::arc(after_hashin_of_use, rewrite)),
        );
        assert_eq!(outcome(&failing.build_sync("use")), "use:invalid_data");
        assert!(
            world.fs.exists(&failing.sandbox_dir("use")),
            "sandbox left for diagnosis"
        );
        assert!(
            failing.local_cache().keys().unwrap().is_empty(),
            "no cache entry for a failed consumer"
        );

        let engine = world.engine(targets, None);
        engine.build_sync("use").into_result().unwrap();
        assert!(engine
            .ctx()
            .trace
            .events()
            .iter()
            .any(|e| matches!(e, Event::SandboxDeleted { .. })));
        assert!(!world.fs.exists(&engine.sandbox_dir("use")));
        assert_eq!(engine.local_cache().keys().unwrap().len(), 1);
    });
}

#[test]
fn a_sandbox_that_cannot_be_deleted_fails_the_build() {
    both(|world| {
        world.write("a.txt", HELLO);
        let targets = src_and_use(ConsumePath::OsCopy, CacheConfig::CACHED);
        // Between the cache write and the sandbox's deletion, a file takes the sandbox's place.
        let squat = |fs: &dyn Fs| {
            let sandbox = Path::new(".heph/sandbox/use");
            fs.remove_dir_all(sandbox).unwrap();
            fs.write(sandbox, b"squatter").unwrap();
        };
        let after_cache_write = |p: &Probe<'_>| matches!(p, Probe::AfterCacheWrite { .. });
        let engine = world.engine(targets, Some(Once::arc(after_cache_write, squat)));
        let out = engine.build_sync("use");
        let message = out.failure.expect("deleting fails").error.to_string();
        assert!(message.contains(".heph/sandbox/use"), "{message}");
    });
}

#[test]
fn traces_are_deterministic() {
    let run = || {
        let world = World::new(common::Kind::Mem);
        world.write("a.txt", HELLO).write("b.txt", b"bee");
        let targets = vec![
            Target::fs_glob("src", &["*.txt"], &[]),
            Target::concat("use", &["src"], ConsumePath::OsCopy, CacheConfig::UNCACHED),
        ];
        let engine = world.engine(targets, None);
        engine.build_sync("use");
        engine.ctx().trace.events()
    };
    assert_eq!(run(), run());
}
