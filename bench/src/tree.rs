//! A workspace of N tiny source files (`go.mod`-sized) on DiskFs in a temp dir, the fs:file
//! targets over them, and fresh engines on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::fs::{DiskFs, Fs};
use engine::{Ctx, Engine, EngineConfig, Graph, Target};

/// The name of the group target that depends on every source.
pub const ROOT: &str = "all";

/// N tiny files `src/fNNNNN.mod` under a temp dir, each behind an fs:file target `sNNNNN`.
pub struct SourceTree {
    dir: tempfile::TempDir,
    fs: Arc<DiskFs>,
    names: Vec<String>,
}

impl SourceTree {
    /// Writes `n` files of about 20 bytes each.
    pub fn new(n: usize) -> SourceTree {
        let dir = tempfile::tempdir().expect("temp dir");
        let fs = Arc::new(DiskFs::new(dir.path()).expect("DiskFs over the temp dir"));
        let names = (0..n).map(|i| format!("s{i:05}")).collect();
        for i in 0..n {
            let path = source_path(i);
            fs.write(&path, format!("module example.com/m{i}\n").as_bytes())
                .expect("write source");
        }
        SourceTree { dir, fs, names }
    }

    /// The file system.
    pub fn fs(&self) -> Arc<dyn Fs> {
        self.fs.clone()
    }

    /// The temp dir on disk.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The source target names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// One fs:file target per source.
    pub fn sources(&self) -> Vec<Target> {
        (0..self.names.len())
            .map(|i| Target::fs_file(&self.names[i], &source_path(i).to_string_lossy()))
            .collect()
    }

    /// The sources plus a group target [`ROOT`] over all of them.
    pub fn sources_and_root(&self) -> Vec<Target> {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let mut targets = self.sources();
        targets.push(Target::group(ROOT, &names, ROOT));
        targets
    }

    /// A fresh engine (empty caches, empty trace, no-op observer) over `targets`.
    pub fn engine(&self, targets: Vec<Target>, config: EngineConfig) -> Arc<Engine> {
        let graph = Graph::new(targets).expect("valid graph");
        Engine::new(Ctx::new(self.fs()), graph, config)
    }
}

fn source_path(i: usize) -> PathBuf {
    PathBuf::from(format!("src/f{i:05}.mod"))
}
