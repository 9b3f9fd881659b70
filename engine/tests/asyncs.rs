//! The async pipeline on tokio: inline and spawn_blocking policies give the same results and
//! the same trace as the synchronous path.

mod common;

use common::World;
use engine::{Blocking, CacheConfig, ConsumePath, EngineConfig, Target};

fn targets() -> Vec<Target> {
    vec![
        Target::fs_file("a", "a.txt"),
        Target::fs_glob("g", &["lib/**"], &["lib/skip*"]),
        Target::concat("use", &["a", "g"], ConsumePath::OsCopy, CacheConfig::CACHED),
    ]
}

fn run(blocking: Option<Blocking>) -> (Vec<engine::Event>, Vec<u8>) {
    let world = World::new(common::Kind::Mem);
    world
        .write("a.txt", b"a")
        .write("lib/x", b"x")
        .write("lib/skip_me", b"s")
        .write("lib/y/z", b"z");
    let config = EngineConfig {
        blocking: blocking.unwrap_or_default(),
        ..EngineConfig::default()
    };
    let engine = world.engine_with(targets(), None, config);
    let out = match blocking {
        None => engine.build_sync("use"),
        Some(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(engine.build("use")),
    };
    let result = out.into_result().unwrap();
    let bytes = result
        .delivered
        .iter()
        .flat_map(|d| d.data.clone())
        .collect();
    (engine.ctx().trace.events(), bytes)
}

#[test]
fn policies_agree_with_the_sync_path() {
    let sync = run(None);
    assert_eq!(sync.1, b"axz", "glob with excludes, sorted");
    assert_eq!(run(Some(Blocking::Inline)), sync);
    assert_eq!(run(Some(Blocking::SpawnBlocking)), sync);
}

#[test]
fn async_build_under_tokio_test() {
    let world = World::new(common::Kind::Mem);
    world.write("a.txt", b"a").write("lib/x", b"x");
    let engine = world.engine(targets(), None);
    let out = tokio_test::block_on(engine.build("use"));
    assert!(out.failure.is_none(), "{:?}", out.failure);
}
