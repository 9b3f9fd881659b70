//! The `passthrough` switch of `EngineConfig`: off, it models heph before PR #127, where every
//! output was packed (the cache write the seed PR removed); on, an fs:file output passes
//! through with no cache write at all.

mod common;

use common::{both, event_names, World};
use engine::{Content, EngineConfig, Target};

/// Builds one fs:file target with the given switch; returns its artifact content, cache key and
/// event names.
fn build_source(world: &World, passthrough: bool) -> (Content, Option<String>, Vec<String>) {
    world.write("go.mod", b"module example\n");
    let config = EngineConfig {
        passthrough,
        ..EngineConfig::default()
    };
    let engine = world.engine_with(vec![Target::fs_file("src", "go.mod")], None, config);
    let result = engine.build_sync("src").into_result().unwrap();
    let events = event_names(&engine.ctx().trace.take());
    (
        result.artifacts[0].content.clone(),
        result.cache_key,
        events,
    )
}

#[test]
fn without_passthrough_a_source_is_packed_into_the_tmp_cache() {
    both(|world: &World| {
        let (content, key, events) = build_source(world, false);
        assert!(matches!(content, Content::Tar(_)), "{content:?}");
        let key = key.expect("a tmp cache key");
        assert!(
            key.contains('_'),
            "tmp keys are {{hashin}}_{{nanos}}: {key}"
        );
        assert!(
            events.contains(&"cache_write_start".to_string()),
            "{events:?}"
        );
        assert!(
            events.contains(&"cache_write_end".to_string()),
            "{events:?}"
        );
        assert!(!events.contains(&"passthrough".to_string()), "{events:?}");
    });
}

#[test]
fn with_passthrough_a_source_skips_the_cache_write() {
    both(|world: &World| {
        let (content, key, events) = build_source(world, true);
        assert!(matches!(content, Content::File { .. }), "{content:?}");
        assert_eq!(key, None);
        assert!(
            !events.iter().any(|e| e.starts_with("cache_write")),
            "{events:?}"
        );
        assert!(events.contains(&"passthrough".to_string()), "{events:?}");
    });
}
