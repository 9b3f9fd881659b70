//! Module boundaries inside the engine, checked on the source text: the `Engine` sits on top,
//! and no module below it (drivers, caches, materialization, the file system) names it.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted (bounded: the engine is a few dozen files).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    assert!(out.len() < 500, "an explicit limit on the walk");
}

#[test]
fn no_module_below_the_engine_names_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "found the engine's sources");
    let top = [src.join("engine.rs"), src.join("lib.rs")];
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| !top.contains(f))
        .filter(|f| {
            let text = std::fs::read_to_string(f).expect("readable source");
            text.contains("crate::engine::") || text.contains("use crate::engine")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "modules below the engine name it: {offenders:?}"
    );
}
