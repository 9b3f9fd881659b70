//! The scenario's targets, made twice: by the engine's constructors (`Target::fs_file`, …:
//! what the engine is given, as a user of it would build them) and by the scenario's own
//! definition, written out field by field from SPEC (fs:file and fs:glob always uncached, §3)
//! and the constructors' documented meaning (what the oracle judges against). The two must
//! agree: a constructor that builds something else is a violation, never a new truth.
//!
//! Architecture Invariant: the oracle never sees a target the engine's API made; it judges the
//! scenario's own definitions ([`Scenario::defined_targets`]).

use engine::target::{Driver, ExecOutput, ExecStep};
use engine::{CacheConfig, ConsumePath, Target};

use crate::oracle::Invariant;
use crate::scenario::{ExecShape, GraphDefect, Input, Scenario};

/// Who makes a target: the engine's constructors, or the scenario's own definition.
trait Maker {
    fn fs_file(&self, name: &str, path: &str) -> Target;
    fn fs_glob(&self, name: &str, patterns: &[&str], excludes: &[&str]) -> Target;
    fn group(&self, name: &str, inputs: &[&str], relocate: &str) -> Target;
    fn concat(&self, name: &str, inputs: &[&str], via: ConsumePath, cache: CacheConfig) -> Target;
    fn plugin(&self, name: &str, inputs: &[&str], sources: &[&str], cache: CacheConfig) -> Target;
}

/// The engine's public constructors.
struct EngineApi;

impl Maker for EngineApi {
    fn fs_file(&self, name: &str, path: &str) -> Target {
        Target::fs_file(name, path)
    }
    fn fs_glob(&self, name: &str, patterns: &[&str], excludes: &[&str]) -> Target {
        Target::fs_glob(name, patterns, excludes)
    }
    fn group(&self, name: &str, inputs: &[&str], relocate: &str) -> Target {
        Target::group(name, inputs, relocate)
    }
    fn concat(&self, name: &str, inputs: &[&str], via: ConsumePath, cache: CacheConfig) -> Target {
        Target::concat(name, inputs, via, cache)
    }
    fn plugin(&self, name: &str, inputs: &[&str], sources: &[&str], cache: CacheConfig) -> Target {
        Target::plugin(name, inputs, sources, cache)
    }
}

/// The scenario's own definitions, every field written out.
struct Defined;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Maker for Defined {
    fn fs_file(&self, name: &str, path: &str) -> Target {
        Target {
            name: name.into(),
            driver: Driver::FsFile { path: path.into() },
            inputs: Vec::new(),
            cache: CacheConfig::UNCACHED, // SPEC §3: "always uncached (cache off)"
        }
    }
    fn fs_glob(&self, name: &str, patterns: &[&str], excludes: &[&str]) -> Target {
        Target {
            name: name.into(),
            driver: Driver::FsGlob {
                patterns: strings(patterns),
                excludes: strings(excludes),
            },
            inputs: Vec::new(),
            cache: CacheConfig::UNCACHED, // SPEC §3: "`fs:glob`: same"
        }
    }
    fn group(&self, name: &str, inputs: &[&str], relocate: &str) -> Target {
        Target {
            name: name.into(),
            driver: Driver::Group {
                relocate: relocate.into(),
            },
            inputs: strings(inputs),
            cache: CacheConfig::UNCACHED,
        }
    }
    fn concat(&self, name: &str, inputs: &[&str], via: ConsumePath, cache: CacheConfig) -> Target {
        Target {
            name: name.into(),
            driver: Driver::Exec {
                steps: vec![ExecStep::Concat { to: "out".into() }],
                outputs: vec![ExecOutput {
                    group: "out".into(),
                    path: "out".into(),
                }],
                consume: via,
            },
            inputs: strings(inputs),
            cache,
        }
    }
    fn plugin(&self, name: &str, inputs: &[&str], sources: &[&str], cache: CacheConfig) -> Target {
        Target {
            name: name.into(),
            driver: Driver::Plugin {
                sources: sources.iter().map(std::path::PathBuf::from).collect(),
                concat_to: "plugin_out".into(),
            },
            inputs: strings(inputs),
            cache,
        }
    }
}

impl Scenario {
    /// The engine targets of this scenario, made by the engine's constructors, plus the root
    /// that builds every consumer: what the engine is given.
    pub fn targets(&self) -> Vec<Target> {
        self.targets_by(&EngineApi)
    }

    /// The same targets as the scenario defines them, every field written out: what the
    /// oracle judges against.
    pub fn defined_targets(&self) -> Vec<Target> {
        self.targets_by(&Defined)
    }

    fn targets_by(&self, make: &impl Maker) -> Vec<Target> {
        let mut targets = Vec::new();
        for i in 0..self.files.len() {
            if self.files[i].has_file_target() {
                targets.push(make.fs_file(&format!("file{i}"), &self.path(i)));
            }
        }
        if self.has_glob() {
            let (patterns, excludes) = self.glob.patterns();
            targets.push(make.fs_glob("glob", patterns, excludes));
        }
        for (name, members, relocate) in self.view_levels() {
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            let mut view = make.group(&name, &members, relocate);
            if self.view_cached && name == "view" {
                view.cache = CacheConfig::CACHED;
            }
            targets.push(view);
        }
        for k in 0..self.consumers.len() {
            targets.push(self.consumer_target(k, make));
        }
        let consumers: Vec<String> = (0..self.consumers.len()).map(Self::consumer_name).collect();
        let consumers: Vec<&str> = consumers.iter().map(String::as_str).collect();
        targets.push(make.group("all", &consumers, "all"));
        for target in &mut targets {
            if let Some(cache) = self.caching.get(&target.name) {
                target.cache = *cache;
            }
        }
        if let Some(defect) = self.defect {
            with_defect(&mut targets, defect, make);
        }
        targets
    }

    fn consumer_target(&self, k: usize, make: &impl Maker) -> Target {
        let consumer = &self.consumers[k];
        let inputs: Vec<String> = consumer
            .inputs
            .iter()
            .map(|input| match input {
                Input::File(i) => format!("file{i}"),
                Input::Glob => "glob".into(),
                Input::View => "view".into(),
                Input::Consumer(j) => Self::consumer_name(*j),
            })
            .collect();
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let cache = match consumer.cached {
            true => CacheConfig::CACHED,
            false => CacheConfig::UNCACHED,
        };
        let name = Self::consumer_name(k);
        if consumer.plugin {
            let exposed: Vec<String> = self.exposed().map(|i| self.path(i)).into_iter().collect();
            let exposed: Vec<&str> = exposed.iter().map(String::as_str).collect();
            make.plugin(&name, &inputs, &exposed, cache)
        } else {
            let target = make.concat(&name, &inputs, consumer.via, cache);
            with_shape(target, consumer.steps)
        }
    }
}

/// Where the engine's constructors (`made`, from [`Scenario::targets`]) and the scenario's
/// definitions (`defined`, [`Scenario::defined_targets`]) disagree: one message per target, with the invariant it breaks (the cache config decides SPEC §4's gating; anything
/// else is the definition its key hashes).
pub fn constructor_disagreements(made: &[Target], defined: &[Target]) -> Vec<(Invariant, String)> {
    assert_eq!(made.len(), defined.len(), "one target list, made twice");
    let mut out = Vec::new();
    for (made, defined) in made.iter().zip(defined).filter(|(m, d)| m != d) {
        let name = &defined.name;
        if made.cache != defined.cache {
            let message = format!("the engine's constructor made {name} with cache {:?}; the scenario defines {:?} (SPEC §3: fs:file and fs:glob are always uncached)", made.cache, defined.cache);
            out.push((Invariant::Gating, message));
        }
        if (&made.name, &made.driver, &made.inputs) != (name, &defined.driver, &defined.inputs) {
            let message = format!("the engine's constructor made {name} as {:?} with inputs {:?}; the scenario defines {:?} with inputs {:?}", made.driver, made.inputs, defined.driver, defined.inputs);
            out.push((Invariant::CacheKey, message));
        }
    }
    out
}

/// `targets` (the last one the root `all`, the first consumer `c0`) with `defect` made.
fn with_defect(targets: &mut Vec<Target>, defect: GraphDefect, make: &impl Maker) {
    let first = Scenario::consumer_name(0);
    let Some(k) = targets.iter().position(|t| t.name == first) else {
        return;
    };
    match defect {
        GraphDefect::Cycle => targets[k].inputs.push("all".into()),
        GraphDefect::UnknownInput => targets[k].inputs.push("missing".into()),
        GraphDefect::DuplicateName => targets.push(targets[k].clone()),
        GraphDefect::SourceAbsolute => {
            with_input(targets, k, make.fs_file("escape", "/escape.txt"))
        }
        GraphDefect::SourceAboveWorkspace => {
            with_input(targets, k, make.fs_file("escape", "../escape.txt"))
        }
        GraphDefect::SourceEmpty => with_input(targets, k, make.fs_file("escape", "")),
        GraphDefect::BadGlobPattern => {
            with_input(targets, k, make.fs_glob("badglob", &["src/[g*.txt"], &[]))
        }
        GraphDefect::OutputEscapes => match &mut targets[k].driver {
            Driver::Exec { outputs, .. } => outputs.push(ExecOutput {
                group: "escape".into(),
                path: "../escape.txt".into(),
            }),
            Driver::Plugin { concat_to, .. } => *concat_to = "../escape.txt".into(),
            _ => unreachable!("a consumer is an exec or a plugin target"),
        },
        GraphDefect::DeepChain => {
            let n = engine::target::MAX_CHAIN;
            for i in 0..n {
                let inputs: Vec<String> = match i {
                    0 => vec![],
                    _ => vec![format!("chain{}", i - 1)],
                };
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                targets.push(make.group(&format!("chain{i}"), &inputs, "chain"));
            }
            let root = targets.iter_mut().find(|t| t.name == "all");
            if let Some(root) = root {
                root.inputs.push(format!("chain{}", n - 1));
            }
        }
    }
}

/// `target` defined before consumer `k`, which takes it as an input.
fn with_input(targets: &mut Vec<Target>, k: usize, target: Target) {
    targets[k].inputs.push(target.name.clone());
    targets.insert(k, target);
}

/// An exec `target` (a `Target::concat`) with the steps and outputs of `shape` added.
fn with_shape(mut target: Target, shape: ExecShape) -> Target {
    let Driver::Exec { steps, outputs, .. } = &mut target.driver else {
        unreachable!("consumers that are not plugins are exec targets");
    };
    debug_assert_eq!(steps.len(), 1, "Target::concat has one step");
    match shape {
        ExecShape::Concat => {}
        ExecShape::ChmodX => steps.push(ExecStep::Chmod {
            path: "out".into(),
            x: true,
        }),
        ExecShape::Stamp | ExecShape::DuplicateGroup => {
            steps.push(ExecStep::Write {
                path: "stamp".into(),
                data: ExecShape::STAMP.to_vec(),
            });
            let group = if shape == ExecShape::Stamp {
                "stamp"
            } else {
                "out"
            };
            outputs.push(ExecOutput {
                group: group.into(),
                path: "stamp".into(),
            });
        }
    }
    target
}
