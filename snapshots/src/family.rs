//! Scenario families: hand-written `sim` scenarios kept as data, one TOML file per family under
//! `snapshots/scenarios/`. This module reads and checks them; every error names the file, the
//! scenario and what was wrong.
//!
//! A family file looks like this (fields with defaults may be left out):
//!
//! ```toml
//! about = "What the scenarios of this family have in common."
//!
//! [[scenario]]
//! name = "delete before open"
//! description = "Why it matters and what should happen."
//! expect = ["c0:not_found", "c0:not_found"]   # the outcome of build 1 and build 2
//! findings = []                               # finding kinds the oracle must report
//! racy = false                                # git's racy walker rule, 1 s mtimes (sim --racy)
//! files = [{ size = 12 }]                     # also: fill, x, globbed, link_to, nested, long_name
//! view = []                                   # files (by index) in the group View
//! view_cached = false                         # the group target's cache is enabled
//! consumers = [{ inputs = [{ file = 0 }], via = "os_copy" }]  # also: cached, plugin
//! mutations = [{ file = 0, kind = "delete", point = { point = "after_hashin", consumer = 0 } }]
//! caching = { file0 = { enabled = true, shell = false } }  # replaces a target's cache config
//! build = "sync"                              # or "async_inline", "async_spawn_blocking"
//! pause = false                               # 2 s pass before each build (MemFs's clock)
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use engine::ConsumePath;
use serde::Deserialize;
use sim::scenario::{ConsumerSpec, ExecShape, FileSpec, Input, MutationSpec, Scenario};

/// At most this many scenarios in one family file.
pub const MAX_SCENARIOS_PER_FAMILY: usize = 64;
/// At most this many bytes in one family file.
pub const MAX_FAMILY_BYTES: u64 = 1 << 20;
/// At most this many bytes in one scenario file (keeps snapshots and test time small).
pub const MAX_FILE_SIZE: u64 = 1 << 18;
/// A schedule is two builds; `expect` names both outcomes (three after a simulated crash: the
/// crashed build, then two by the restarted engine).
pub const BUILDS: usize = 2;

/// One family: a file of named scenarios.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    /// Where it was read from.
    pub path: PathBuf,
    /// What its scenarios have in common.
    pub about: String,
    /// Its scenarios, in file order.
    pub scenarios: Vec<Named>,
}

/// One named, hand-written scenario and what its author expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// Unique name (within its family).
    pub name: String,
    /// Why it matters and what should happen.
    pub description: String,
    /// The outcome of each build (`ok` or `target:error_name`).
    pub expect: Vec<String>,
    /// The finding kinds the oracle must report (sorted, without repeats).
    pub findings: Vec<String>,
    /// Run with git's racy walker rule (MemFs then has 1 s mtimes), as `sim --racy` does.
    pub racy: bool,
    /// Run under this walker policy at the scenario's granularity, on a MemFs that reuses
    /// inode numbers, as `sim policies` does.
    pub cell: Option<sim::schedule::PolicyCell>,
    /// The scenario itself.
    pub scenario: Scenario,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilyDef {
    about: String,
    #[serde(default)]
    scenario: Vec<ScenarioDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioDef {
    name: String,
    description: String,
    expect: Vec<String>,
    #[serde(default)]
    findings: Vec<String>,
    #[serde(default)]
    racy: bool,
    /// A walker policy (`sim policies`' names); the cell's granularity is `granularity_ns`.
    #[serde(default)]
    policy: Option<engine::walker::Policy>,
    files: Vec<FileDef>,
    #[serde(default)]
    view: Vec<usize>,
    #[serde(default)]
    view_cached: bool,
    consumers: Vec<ConsumerDef>,
    #[serde(default)]
    mutations: Vec<MutationSpec>,
    #[serde(default)]
    caching: std::collections::BTreeMap<String, engine::CacheConfig>,
    #[serde(default)]
    build: sim::scenario::BuildMode,
    #[serde(default)]
    pause: bool,
    #[serde(default)]
    granularity_ns: u64,
    #[serde(default)]
    clock_ns: u64,
    #[serde(default)]
    spill: bool,
    #[serde(default)]
    tmp_limits: Option<(u64, u64)>,
    #[serde(default)]
    view_nesting: u8,
    #[serde(default)]
    glob: sim::scenario::GlobShape,
    #[serde(default)]
    defect: Option<sim::scenario::GraphDefect>,
    #[serde(default)]
    third_build: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    size: u64,
    #[serde(default)]
    fill: u8,
    #[serde(default)]
    x: bool,
    #[serde(default)]
    globbed: bool,
    #[serde(default)]
    link_to: Option<usize>,
    #[serde(default)]
    nested: bool,
    #[serde(default)]
    depth: u8,
    /// Index into the simulator's table of modes (`sim::scenario::EXEC_MODES`/`PLAIN_MODES`).
    #[serde(default)]
    mode: u8,
    #[serde(default)]
    long_name: bool,
    #[serde(default)]
    external: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerDef {
    inputs: Vec<Input>,
    /// Defaults to `os_copy`, or `abi_chunked` for a plugin.
    #[serde(default)]
    via: Option<ConsumePath>,
    #[serde(default)]
    cached: bool,
    #[serde(default)]
    plugin: bool,
    /// An exec consumer's steps after `concat` (default: none).
    #[serde(default)]
    steps: ExecShape,
}

/// Reads and checks the family file at `path`.
pub fn load(path: &Path) -> Result<Family, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{shown}: cannot read scenario family: {e}"))?
        .len();
    if size > MAX_FAMILY_BYTES {
        return Err(format!(
            "{shown}: {size} bytes; a family file holds at most {MAX_FAMILY_BYTES}"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{shown}: cannot read scenario family: {e}"))?;
    parse(path, &text)
}

/// Parses and checks a family file's `text`; `path` is only used to name it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Family, String> {
    let shown = path.display();
    let def: FamilyDef = toml::from_str(text).map_err(|e| {
        format!(
            "{shown}: not a valid scenario family: {}",
            e.to_string().trim_end()
        )
    })?;
    if def.about.trim().is_empty() {
        return Err(format!(
            "{shown}: `about` is empty; say what the family is for"
        ));
    }
    if def.scenario.is_empty() || def.scenario.len() > MAX_SCENARIOS_PER_FAMILY {
        return Err(format!(
            "{shown}: {} scenarios; want 1..={MAX_SCENARIOS_PER_FAMILY} `[[scenario]]` tables",
            def.scenario.len()
        ));
    }
    let mut names = BTreeSet::new();
    let mut scenarios = Vec::with_capacity(def.scenario.len());
    for (i, scenario) in def.scenario.into_iter().enumerate() {
        let label = format!("{shown}: scenario {} ({:?})", i + 1, scenario.name);
        if !names.insert(scenario.name.clone()) {
            return Err(format!("{label}: duplicate name"));
        }
        scenarios.push(check(scenario).map_err(|e| format!("{label}: {e}"))?);
    }
    Ok(Family {
        path: path.to_path_buf(),
        about: def.about.trim().to_string(),
        scenarios,
    })
}

/// Every `*.toml` family under `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Family>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot list scenario families: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

fn check(def: ScenarioDef) -> Result<Named, String> {
    if def.name.trim().is_empty() || def.name.contains('\n') {
        return Err("`name` must be one non-empty line".into());
    }
    if def.description.trim().is_empty() {
        return Err("`description` is empty; say why the scenario matters".into());
    }
    let crashes = def
        .mutations
        .iter()
        .any(|m| m.kind == sim::mutation::MutationKind::Crash);
    if def.expect.len() != BUILDS + usize::from(crashes) {
        return Err(format!(
            "`expect` lists {} outcome(s); want {BUILDS} (build 1, then the incremental rebuild), or 3 with a crash",
            def.expect.len()
        ));
    }
    let mut findings = def.findings;
    findings.sort();
    findings.dedup();
    let files: Vec<FileSpec> = def.files.into_iter().map(FileDef::spec).collect();
    if let Some(i) = files.iter().position(|f| f.size > MAX_FILE_SIZE) {
        return Err(format!(
            "file {i}: {} bytes; at most {MAX_FILE_SIZE} (keeps snapshots small)",
            files[i].size
        ));
    }
    let consumers: Vec<ConsumerSpec> = def.consumers.into_iter().map(ConsumerDef::spec).collect();
    if consumers.is_empty() {
        return Err("no consumers; a scenario needs at least one".into());
    }
    for (k, c) in consumers.iter().enumerate() {
        if c.plugin != (c.via == ConsumePath::AbiChunked) {
            return Err(format!(
                "consumer {k}: via {:?} with plugin = {}; plugins (and only they) read abi_chunked",
                c.via, c.plugin
            ));
        }
    }
    for (m, mutation) in def.mutations.iter().enumerate() {
        if let Some(k) = mutation.point.consumer() {
            if k >= consumers.len() {
                return Err(format!(
                    "mutation {m}: point names consumer {k}, but there are {} consumers",
                    consumers.len()
                ));
            }
        }
    }
    let scenario = Scenario {
        files,
        view: def.view,
        view_cached: def.view_cached,
        consumers,
        mutations: def.mutations,
        caching: def.caching,
        build: def.build,
        pause: def.pause,
        granularity_ns: def.granularity_ns,
        clock_ns: def.clock_ns,
        spill: def.spill,
        tmp_limits: def.tmp_limits,
        view_nesting: def.view_nesting,
        glob: def.glob,
        defect: def.defect,
        third_build: def.third_build,
    };
    scenario.validate()?;
    if def.policy.is_some() && def.racy {
        return Err("`policy` and `racy` both choose the walker's rule; give one".into());
    }
    let cell = def.policy.map(|policy| sim::schedule::PolicyCell {
        policy,
        granularity_ns: def.granularity_ns.max(1),
    });
    Ok(Named {
        name: def.name.trim().to_string(),
        description: def.description.trim().to_string(),
        expect: def.expect,
        findings,
        racy: def.racy,
        cell,
        scenario,
    })
}

impl FileDef {
    fn spec(self) -> FileSpec {
        FileSpec {
            size: self.size,
            fill: self.fill,
            x: self.x,
            globbed: self.globbed,
            link_to: self.link_to,
            nested: self.nested,
            depth: self.depth,
            long_name: self.long_name,
            external: self.external,
            beside_external: false,
            generated: false,
            generated_dir: false,
            hidden_dir: false,
            odd_name: false,
            also_file: false,
            mode: self.mode,
        }
    }
}

impl ConsumerDef {
    fn spec(self) -> ConsumerSpec {
        let default = if self.plugin {
            ConsumePath::AbiChunked
        } else {
            ConsumePath::OsCopy
        };
        ConsumerSpec {
            inputs: self.inputs,
            via: self.via.unwrap_or(default),
            cached: self.cached,
            plugin: self.plugin,
            steps: self.steps,
        }
    }
}
