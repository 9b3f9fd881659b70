//! Targets and build graphs (SPEC §1): what to build, with which driver, from which inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::gate::CacheConfig;
use crate::trace::ConsumePath;

/// At most this many targets in one graph.
pub const MAX_TARGETS: usize = 100_000;
/// At most this many targets in one dependency chain: ordering recurses along a chain, so its
/// length bounds the stack, whatever the graph's size.
pub const MAX_CHAIN: usize = 1_024;

/// One step of an exec target's command, run in its sandbox through the engine's file system
/// (so it runs identically on MemFs and DiskFs, deterministically).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecStep {
    /// Concatenates every materialized input file, in sorted path order, into `to`.
    Concat {
        /// Sandbox-relative output.
        to: PathBuf,
    },
    /// Writes literal bytes.
    Write {
        /// Sandbox-relative output.
        path: PathBuf,
        /// Bytes.
        data: Vec<u8>,
    },
    /// Sets or clears the exec bit.
    Chmod {
        /// Sandbox-relative file.
        path: PathBuf,
        /// The new exec bit.
        x: bool,
    },
}

/// A declared exec output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecOutput {
    /// Output group (unique per target).
    pub group: String,
    /// Sandbox-relative path of the produced file.
    pub path: PathBuf,
}

/// What a target runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// One source file, exposed at its own path.
    FsFile {
        /// Workspace path.
        path: PathBuf,
    },
    /// Every workspace file matching a pattern and no exclude.
    FsGlob {
        /// Glob patterns.
        patterns: Vec<String>,
        /// Exclude patterns.
        #[serde(default, skip_serializing_if = "excludes_left_out")]
        excludes: Vec<String>,
    },
    /// A command in a sandbox, consuming its inputs by one consumer path.
    Exec {
        /// The command.
        steps: Vec<ExecStep>,
        /// Declared outputs.
        outputs: Vec<ExecOutput>,
        /// How inputs are materialized.
        consume: ConsumePath,
    },
    /// Re-exposes the inputs' artifacts as one View under a prefix.
    Group {
        /// The prefix.
        relocate: PathBuf,
    },
    /// An out-of-process driver: exposes source files and concatenates its inputs, all across
    /// the plugin ABI.
    Plugin {
        /// Workspace files it exposes as outputs.
        sources: Vec<PathBuf>,
        /// Output path of the concatenation of its inputs (read in ABI chunks).
        concat_to: PathBuf,
    },
}

/// Never, but in the seeded regression that drops a glob's excludes from its definition hash.
fn excludes_left_out(_: &[String]) -> bool {
    crate::regressed!(DefHashSkipsExcludes)
}

impl Driver {
    /// The driver name that goes into hashin.
    pub fn name(&self) -> &'static str {
        match self {
            Driver::FsFile { .. } => "fs_file",
            Driver::FsGlob { .. } => "fs_glob",
            Driver::Exec { .. } => "exec",
            Driver::Group { .. } => "group",
            Driver::Plugin { .. } => "plugin",
        }
    }

    /// The definition hash: the canonical JSON of the definition.
    pub fn def_hash(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One target of a build graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Unique name.
    pub name: String,
    /// What it runs.
    pub driver: Driver,
    /// Names of the targets whose outputs it consumes.
    pub inputs: Vec<String>,
    /// Cache configuration (source drivers are always uncached).
    pub cache: CacheConfig,
}

/// A set of targets by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    targets: BTreeMap<String, Target>,
}

impl Graph {
    /// Builds a graph, checking names are unique and every input exists.
    pub fn new(targets: Vec<Target>) -> Result<Self> {
        if targets.len() > MAX_TARGETS {
            return Err(EngineError::Limit {
                what: "targets",
                got: targets.len() as u64,
                max: MAX_TARGETS as u64,
            });
        }
        let mut map = BTreeMap::new();
        for target in targets {
            let name = target.name.clone();
            if map.insert(name.clone(), target).is_some() {
                return Err(EngineError::Graph(format!(
                    "duplicate target name {name:?}"
                )));
            }
        }
        for target in map.values() {
            for input in &target.inputs {
                if !map.contains_key(input) {
                    return Err(EngineError::Graph(format!(
                        "target {:?} has unknown input {input:?}",
                        target.name
                    )));
                }
            }
        }
        Ok(Graph { targets: map })
    }

    /// The target called `name`.
    pub fn get(&self, name: &str) -> Result<&Target> {
        self.targets
            .get(name)
            .ok_or_else(|| EngineError::Graph(format!("unknown target {name:?}")))
    }

    /// `name` and everything it depends on, dependencies first, in a deterministic order.
    pub fn order(&self, name: &str) -> Result<Vec<String>> {
        let mut order = Vec::new();
        let mut state = BTreeMap::new();
        self.visit(name, &mut state, &mut order, 0)?;
        Ok(order)
    }

    fn visit(
        &self,
        name: &str,
        state: &mut BTreeMap<String, bool>,
        order: &mut Vec<String>,
        depth: usize,
    ) -> Result<()> {
        if depth >= MAX_CHAIN {
            return Err(EngineError::Graph(format!(
                "dependency chain longer than {MAX_CHAIN} targets at {name:?}"
            )));
        }
        match state.get(name) {
            Some(true) if !crate::regressed!(SpuriousCycle) => return Ok(()),
            Some(_) => {
                return Err(EngineError::Graph(format!(
                    "dependency cycle through {name:?}"
                )))
            }
            None => {}
        }
        state.insert(name.to_string(), false);
        for input in &self.get(name)?.inputs {
            self.visit(input, state, order, depth + 1)?;
        }
        state.insert(name.to_string(), true);
        order.push(name.to_string());
        Ok(())
    }
}

/// Convenience constructors, so scenarios read like build files.
impl Target {
    /// An fs:file target.
    pub fn fs_file(name: &str, path: &str) -> Target {
        Target {
            name: name.into(),
            driver: Driver::FsFile { path: path.into() },
            inputs: vec![],
            cache: CacheConfig::UNCACHED,
        }
    }

    /// An fs:glob target.
    pub fn fs_glob(name: &str, patterns: &[&str], excludes: &[&str]) -> Target {
        let driver = Driver::FsGlob {
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            excludes: excludes.iter().map(|p| p.to_string()).collect(),
        };
        let cache = match crate::regressed!(GlobConstructorCaches) {
            true => CacheConfig::CACHED,
            false => CacheConfig::UNCACHED,
        };
        Target {
            name: name.into(),
            driver,
            inputs: vec![],
            cache,
        }
    }

    /// An exec target concatenating its inputs into `out` (group `out`), consumed by `consume`.
    pub fn concat(name: &str, inputs: &[&str], consume: ConsumePath, cache: CacheConfig) -> Target {
        let driver = Driver::Exec {
            steps: vec![ExecStep::Concat { to: "out".into() }],
            outputs: vec![ExecOutput {
                group: "out".into(),
                path: "out".into(),
            }],
            consume,
        };
        Target {
            name: name.into(),
            driver,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            cache,
        }
    }

    /// A group target.
    pub fn group(name: &str, inputs: &[&str], relocate: &str) -> Target {
        let driver = Driver::Group {
            relocate: relocate.into(),
        };
        Target {
            name: name.into(),
            driver,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            cache: CacheConfig::UNCACHED,
        }
    }

    /// A plugin target.
    pub fn plugin(name: &str, inputs: &[&str], sources: &[&str], cache: CacheConfig) -> Target {
        let driver = Driver::Plugin {
            sources: sources.iter().map(PathBuf::from).collect(),
            concat_to: "plugin_out".into(),
        };
        Target {
            name: name.into(),
            driver,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            cache,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_driver_puts_its_own_name_into_hashin() {
        let cached = CacheConfig::CACHED;
        let cases = [
            (Target::fs_file("f", "a.txt"), "fs_file"),
            (Target::fs_glob("g", &["*.txt"], &[]), "fs_glob"),
            (
                Target::concat("c", &["f"], ConsumePath::OsCopy, cached),
                "exec",
            ),
            (Target::group("v", &["f"], "lib"), "group"),
            (Target::plugin("p", &["f"], &[], cached), "plugin"),
        ];
        for (target, name) in cases {
            assert_eq!(target.driver.name(), name, "{}", target.name);
        }
    }

    #[test]
    fn dependency_chains_are_bounded() {
        let chain = |n: usize| {
            let mut targets = vec![Target::fs_file("t0", "a.txt")];
            for i in 1..n {
                targets.push(Target::group(
                    &format!("t{i}"),
                    &[&format!("t{}", i - 1)],
                    "x",
                ));
            }
            Graph::new(targets).unwrap().order(&format!("t{}", n - 1))
        };
        assert_eq!(chain(MAX_CHAIN).unwrap().len(), MAX_CHAIN);
        let err = chain(MAX_CHAIN + 1).unwrap_err().to_string();
        assert!(err.contains("longer than 1024 targets at \"t0\""), "{err}");
    }

    #[test]
    fn def_hash_is_the_canonical_json_of_the_definition() {
        let txt = Target::fs_glob("g", &["*.txt"], &[]).driver.def_hash();
        let md = Target::fs_glob("g", &["*.md"], &[]).driver.def_hash();
        assert_ne!(txt, md, "patterns are part of the definition");
        let json: serde_json::Value = serde_json::from_slice(&txt).expect("JSON");
        assert!(json.to_string().contains("*.txt"), "{json}");
        assert_eq!(
            txt,
            Target::fs_glob("other", &["*.txt"], &[]).driver.def_hash()
        );
    }
}
