//! The `sim` command line: campaigns, replays, the exhaustive enumeration and chaos runs.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use sim::campaign::{campaign, CampaignOptions};
use sim::cli::{Cli, Command, CoverageArgs};
use sim::report::{write_output, Report};
use sim::scenario::{generate, Scenario};
use sim::schedule::{PolicyCell, RunOptions, Variant};

fn progress_reporter(total: u64) -> impl Fn(u64, u64) + Sync {
    progress_of(total, ("schedules", "violations"))
}

/// A progress bar (a line every tenth when stderr is not a terminal) over `total` `units`, with
/// a count of `bad` ones.
fn progress_of(total: u64, (units, bad): (&'static str, &'static str)) -> impl Fn(u64, u64) + Sync {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        let template = format!("{{bar:40}} {{pos}}/{{len}} {units} {{per_sec}} {{msg}}");
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let last_line = std::sync::Mutex::new(0u64);
    move |done: u64, violations: u64| match &bar {
        Some(bar) => {
            bar.set_position(done);
            bar.set_message(format!("{bad}: {violations}"));
            if done == total {
                bar.finish();
            }
        }
        None => {
            let mut last = last_line.lock().unwrap_or_else(|p| p.into_inner());
            let step = (total / 10).max(1);
            if done >= *last + step || (done == total && *last != total) {
                *last = done;
                eprintln!("sim: {done}/{total} {units}, {violations} {bad}");
            }
        }
    }
}

fn finish(report: &Report, json: Option<PathBuf>) -> ExitCode {
    if let Some(first) = report.violations.first() {
        eprintln!(
            "sim {}: FAILED with seed {}: {} violations; replay the first: {}",
            report.mode, report.seed, report.violation_count, first.replay
        );
    }
    eprintln!(
        "sim {}: {} schedules, {} violations, outcomes {:?}, {:.0} schedules/s",
        report.mode,
        report.schedules,
        report.violation_count,
        report.outcomes,
        report.timing.schedules_per_sec
    );
    for violation in report.violations.iter().take(5) {
        eprintln!(
            "VIOLATION schedule {} on {} ({:?}): {}\n  replay: {}",
            violation.schedule,
            violation.fs,
            violation.invariant,
            violation.message,
            violation.replay
        );
        if let Some(shrunk) = &violation.shrunk {
            eprintln!(
                "  shrunk scenario:\n{}\n  as JSON: {}",
                indent(&sim::shrink::describe(shrunk)),
                serde_json::to_string(shrunk).unwrap_or_default()
            );
        }
    }
    if let Some(path) = json {
        if let Err(message) = write_output(&path, &report.to_json()) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    if report.violation_count == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// [`finish`], after printing and drawing the coverage map as asked.
fn finish_with_coverage(report: &Report, json: Option<PathBuf>, args: &CoverageArgs) -> ExitCode {
    // The verdict, the seed and the replay command come first; the long table after them.
    let code = finish(report, json);
    if args.coverage {
        eprint!("{}", report.coverage.table());
    }
    if let Some(path) = &args.coverage_svg {
        let title = sim::coverage::title(&report.mode, report.seed, report.schedules, &report.fs);
        if let Err(message) = write_output(path, &report.coverage.svg(&title)) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    code
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn load_scenario(path: &PathBuf) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
    let scenario: Scenario = serde_json::from_str(&text).map_err(|e| {
        format!(
            "scenario {} is not valid JSON for a scenario: {e}",
            path.display()
        )
    })?;
    scenario
        .validate()
        .map_err(|e| format!("scenario {} is invalid: {e}", path.display()))?;
    Ok(scenario)
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            seed,
            schedules,
            fs,
            json,
            threads,
            racy,
            no_shrink,
            shard,
            swarm,
            fingerprints,
            policy,
            granularity,
            corpus,
            coverage,
        } => {
            let variant = Variant::Reference;
            let cell = policy.map(|policy| sim::schedule::PolicyCell {
                policy,
                granularity_ns: granularity.and_then(|g| g.0.first().copied()).unwrap_or(1),
            });
            let options = CampaignOptions {
                seed,
                schedules,
                fs,
                threads: threads as usize,
                racy,
                variant,
                shrink: !no_shrink,
                shard,
                swarm,
                fingerprints,
                cell,
            };
            let report = campaign(&options, &progress_reporter(schedules));
            if let Some(dir) = corpus {
                let entries = report.violations.iter().filter_map(|v| {
                    let name = format!("seed{seed}-schedule{}-{:?}", v.schedule, v.invariant);
                    v.shrunk.clone().map(|scenario| {
                        (
                            name,
                            (None, Some(v.invariant)),
                            (racy, cell, false),
                            scenario,
                        )
                    })
                });
                if let Err(message) = save_corpus(&dir, entries) {
                    eprintln!("sim: error: {message}");
                    return ExitCode::from(2);
                }
            }
            finish_with_coverage(&report, json, &coverage)
        }
        Command::Merge { reports, json } => merge(&reports, json),
        Command::Diff {
            base,
            head,
            markdown,
            json,
        } => diff(&base, &head, [markdown, json]),
        Command::Replay {
            seed,
            schedule,
            scenario,
            fs,
            racy,
            policy,
            granularity,
            swarm,
        } => {
            let cell = policy.zip(granularity).and_then(|(policy, g)| {
                g.0.first()
                    .map(|&granularity_ns| sim::schedule::PolicyCell {
                        policy,
                        granularity_ns,
                    })
            });
            let scenario = match (&scenario, seed, schedule) {
                (Some(path), _, _) => load_scenario(path),
                (None, Some(seed), Some(index)) if swarm => {
                    Ok(sim::scenario::generate_swarm(seed, index))
                }
                (None, Some(seed), Some(index)) => Ok(generate(seed, index)),
                _ => Err("give --seed and --schedule, or --scenario".to_string()),
            };
            let outcome = scenario.and_then(|s| {
                sim::replay::replay(
                    &s,
                    &RunOptions {
                        fs,
                        racy,
                        cell,
                        ..RunOptions::default()
                    },
                )
            });
            told(outcome, "sim: error")
        }
        Command::Exhaustive {
            fs,
            scope,
            racy,
            case: Some(index),
            ..
        } => replay_case(scope, fs, racy, index),
        Command::Exhaustive {
            fs,
            scope,
            threads,
            json,
            racy,
            fingerprints,
            case: None,
            coverage,
        } => {
            let workers = (threads as usize, fingerprints);
            let report = sim::exhaustive::exhaustive(fs, racy, Variant::Reference, scope, workers);
            for (name, family) in &report.families {
                eprintln!(
                    "{name:<20} {:>7} cases, {:>7} fired",
                    family.cases, family.fired
                );
                for case in &family.never_fired {
                    eprintln!("  never fired: {case}");
                }
            }
            finish_with_coverage(&report, json, &coverage)
        }
        Command::Chaos {
            seed,
            schedules,
            json,
        } => finish(&sim::chaos::chaos(seed, schedules), json),
        Command::Policies {
            seed,
            schedules,
            granularity,
            policies: chosen,
            threads,
            json,
            markdown,
            svg,
            fs,
        } => policies(
            (fs, seed),
            schedules,
            (&chosen.0, &granularity.0),
            threads,
            [json, markdown, svg],
        ),
        Command::Fsops { seed, sequences } => fsops_command(seed, sequences),
        Command::Wire { seed, frames } => wire_command(seed, frames),
        Command::Tools {
            sequences,
            seed,
            tools,
            root,
            markdown,
        } => tools_command(sequences, seed, &tools, root, markdown),
        #[cfg(feature = "regressions")]
        Command::Mutants { list: true, .. } => {
            // A closed pipe (`| head`) ends the list quietly instead of panicking.
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            for r in engine::regress::Regression::ALL {
                if writeln!(out, "{}", r.name()).is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        #[cfg(feature = "regressions")]
        Command::Mutants {
            seed,
            budget_schedules,
            only,
            json,
            source,
            corpus,
            ..
        } => mutants(seed, (budget_schedules, source), &only, (json, corpus)),
    }
}

/// `sim tools`: the real tools against their models.
fn tools_command(
    sequences: u64,
    seed: u64,
    names: &[String],
    root: Option<PathBuf>,
    markdown: Option<PathBuf>,
) -> ExitCode {
    use sim::tools::Tool;
    let mut chosen = Vec::new();
    for name in names {
        let tool = Tool::ALL.into_iter().find(|t| {
            serde_json::to_value(t)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .as_deref()
                == Some(name)
        });
        match tool {
            Some(t) => chosen.push(t),
            None => {
                eprintln!(
                    "sim: error: unknown tool {name:?}; known: git, git_no_ctime, mercurial, cargo, ccache_unguarded, ccache_guarded"
                );
                return ExitCode::from(2);
            }
        }
    }
    if chosen.is_empty() {
        chosen = Tool::ALL.to_vec();
    }
    let root = root.unwrap_or_else(sim::tools::default_root);
    let total = sim::tools::trials(&chosen, sequences);
    let progress = progress_of(total, ("sequences", "disagreements"));
    let table = match sim::tools::conformance(&chosen, sequences, seed, &root, &progress) {
        Ok(table) => table,
        Err(message) => {
            eprintln!("sim tools: error: {message}");
            return ExitCode::from(2);
        }
    };
    let steps = match sim::tools::timestamp_steps(&root, 10_000) {
        Ok(steps) => steps,
        Err(message) => {
            eprintln!("sim tools: error: {message}");
            return ExitCode::from(2);
        }
    };
    let mut text = table.markdown();
    text.push_str("\n| file system under | write pairs | same mtime | same ctime | smallest mtime step (ns) | largest (ns) |\n|---|---:|---:|---:|---:|---:|\n");
    text.push_str(&steps.row());
    text.push('\n');
    eprint!("{text}");
    if let Some(path) = markdown {
        if let Err(message) = write_output(&path, &text) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    let disagreeing = table.disagreeing();
    eprintln!("sim tools: {} disagreement(s)", disagreeing);
    if disagreeing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A corpus entry to save: name, the regression it catches and the invariant that must catch
/// it, how it runs (racy, policy cell).
type NewEntry = (
    String,
    (Option<String>, Option<sim::oracle::Invariant>),
    (bool, Option<PolicyCell>, bool),
    Scenario,
);

/// Saves entries into the corpus at `dir`.
fn save_corpus(
    dir: &std::path::Path,
    entries: impl Iterator<Item = NewEntry>,
) -> Result<(), String> {
    for (name, (catches, invariant), (racy, cell, must_fire), scenario) in entries {
        let entry = sim::corpus::Entry {
            version: sim::corpus::VERSION,
            name,
            catches,
            invariant,
            must_fire,
            racy,
            cell,
            scenario,
        };
        let path = sim::corpus::save(dir, &entry)?;
        eprintln!("sim: corpus entry {}", path.display());
    }
    Ok(())
}

/// `sim merge`: reads every shard's report, merges them, reports like `sim run`.
/// Reads a campaign report, or says what is wrong with it and where.
fn read_report(path: &std::path::Path) -> Result<Report, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|text| {
            serde_json::from_str::<sim::report::Report>(&text)
                .map_err(|e| format!("{}: not a sim report: {e}", path.display()))
        })
}

/// `sim exhaustive --case N`: case `index`'s story, under its policy cell, on the first file
/// system of `fs`; exit 1 when it breaks an invariant, 2 when there is no such case.
fn replay_case(
    scope: sim::exhaustive::Scope,
    fs: sim::campaign::FsChoice,
    racy: bool,
    index: u64,
) -> ExitCode {
    use sim::campaign::FsChoice;
    let disk = fs != FsChoice::Mem;
    let first = match fs {
        FsChoice::Disk => sim::schedule::FsKind::Disk,
        _ => sim::schedule::FsKind::Mem,
    };
    let outcome = sim::exhaustive::case(scope, disk, index).and_then(|case| {
        let options = RunOptions {
            fs: first,
            racy,
            cell: case.cell,
            ..RunOptions::default()
        };
        sim::replay::replay(&case.scenario, &options)
    });
    told(outcome, "sim exhaustive")
}

/// A replayed story printed: exit 0 when it broke nothing, 1 when it broke an invariant, 2
/// (the error after `prefix`) when it could not be told.
fn told(outcome: Result<(String, bool), String>, prefix: &str) -> ExitCode {
    match outcome {
        Ok((text, clean)) => {
            print!("{text}");
            match clean {
                true => ExitCode::SUCCESS,
                false => ExitCode::from(1),
            }
        }
        Err(message) => {
            eprintln!("{prefix}: {message}");
            ExitCode::from(2)
        }
    }
}

/// `sim diff`: the head's behaviour against the base's on the same schedules.
fn diff(
    base: &std::path::Path,
    head: &std::path::Path,
    [markdown, json]: [Option<PathBuf>; 2],
) -> ExitCode {
    let compared = read_report(base)
        .and_then(|b| read_report(head).map(|h| (b, h)))
        .and_then(|(b, h)| sim::diff::compare(&b, &h));
    let diff = match compared {
        Ok(diff) => diff,
        Err(message) => {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    };
    let text = diff.markdown();
    eprint!("{text}");
    let outputs = [
        markdown.map(|p| (p, text.clone())),
        json.map(|p| {
            (
                p,
                serde_json::to_string_pretty(&diff).unwrap_or_default() + "\n",
            )
        }),
    ];
    for (path, body) in outputs.into_iter().flatten() {
        if let Err(message) = write_output(&path, &body) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    if diff.unchanged() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn merge(paths: &[PathBuf], json: Option<PathBuf>) -> ExitCode {
    let mut shards = Vec::with_capacity(paths.len());
    for path in paths {
        let report = read_report(path);
        match report {
            Ok(report) => shards.push(report),
            Err(message) => {
                eprintln!("sim: error: {message}");
                return ExitCode::from(2);
            }
        }
    }
    match sim::campaign::merge_shards(shards) {
        Ok(report) => finish(&report, json),
        Err(message) => {
            eprintln!("sim: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs the validation-policy matrix and writes what was asked for.
fn policies(
    (fs, seed): (sim::schedule::FsKind, u64),
    schedules: u64,
    (chosen, granularities): (&[engine::walker::Policy], &[u64]),
    threads: u64,
    [json, markdown, svg]: [Option<PathBuf>; 3],
) -> ExitCode {
    if fs == sim::schedule::FsKind::Disk && granularities != [1] {
        eprintln!("sim: error: --fs disk runs at the kernel's own timestamps: pass --granularity 1ns (the other granularities are MemFs's to simulate)");
        return ExitCode::from(2);
    }
    let matrix = sim::policies::matrix_on(
        fs,
        seed,
        schedules,
        (chosen, granularities),
        threads as usize,
    );
    let markdown_path = markdown.unwrap_or_else(|| PathBuf::from("-"));
    let outputs = [
        json.map(|p| {
            (
                p,
                serde_json::to_string_pretty(&matrix).unwrap_or_default() + "\n",
            )
        }),
        Some((markdown_path, sim::policies::markdown(&matrix))),
        svg.map(|p| (p, sim::policies::svg(&matrix))),
    ];
    for (path, text) in outputs.into_iter().flatten() {
        if let Err(message) = write_output(&path, &text) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    let failures = matrix.failures();
    for failure in &failures {
        eprintln!("sim policies: FAILED: {failure}");
    }
    eprintln!(
        "sim policies: {} policies x {} granularities x {schedules} schedules, {} failures",
        chosen.len(),
        granularities.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(feature = "regressions")]
fn mutants(
    seed: u64,
    (schedules, source): (u64, sim::mutants::Source),
    only: &[String],
    (json, corpus): (Option<PathBuf>, Option<PathBuf>),
) -> ExitCode {
    use engine::regress::Regression;
    let mut chosen = Vec::new();
    for name in only {
        match Regression::parse(name) {
            Some(r) => chosen.push(r),
            None => {
                let known: Vec<String> = Regression::ALL.iter().map(|r| r.name()).collect();
                eprintln!(
                    "sim: error: unknown regression {name:?}; known: {}",
                    known.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    let budget = sim::mutants::Budget { schedules, source };
    let matrix = sim::mutants::kill_matrix(seed, budget, &chosen);
    for kill in &matrix.regressions {
        let verdict = match (&kill.invariant, kill.caught) {
            (Some(invariant), true) => format!(
                "caught by {invariant:?} after {} schedules, {} ms",
                kill.schedules, kill.millis
            ),
            _ => format!(
                "SURVIVED {} schedules, {} ms ({:?} must catch it{})",
                kill.schedules,
                kill.millis,
                kill.expected,
                kill.other
                    .as_deref()
                    .map_or(String::new(), |o| format!("; only met {o}"))
            ),
        };
        eprintln!("{:<28} {verdict}", kill.regression);
    }
    eprintln!(
        "sim mutants: {}/{} caught; median {} ms, max {} ms to detect",
        matrix.caught,
        matrix.regressions.len(),
        matrix.median_ms,
        matrix.max_ms
    );
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&matrix).unwrap_or_default();
        if let Err(message) = write_output(&path, &text) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = corpus {
        let entries = matrix.regressions.iter().filter_map(|kill| {
            let catches = Some(kill.regression.clone());
            let must_fire = kill
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with("exhaustive"));
            let scenario = kill.shrunk.clone()?;
            Some((
                kill.regression.clone(),
                (catches, Some(kill.expected)),
                (kill.racy, kill.cell, must_fire),
                scenario,
            ))
        });
        if let Err(message) = save_corpus(&dir, entries) {
            eprintln!("sim: error: {message}");
            return ExitCode::from(2);
        }
    }
    if matrix.survived.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// At most this many disagreements after the first are listed, one line each.
const MAX_LISTED: usize = 200;

/// `sim wire`: exit 1 on a disagreement between the engine's decoder and the oracle's reading.
fn wire_command(seed: u64, frames: u64) -> ExitCode {
    let (found, tally) = sim::wire::run(seed, frames);
    for d in found.iter().take(MAX_LISTED) {
        eprintln!(
            "frame {} of seed {seed}:\n  oracle: {}\n  engine: {}",
            d.frame, d.oracle, d.engine
        );
    }
    let spread: Vec<String> = tally.iter().map(|(b, n)| format!("{b} ×{n}")).collect();
    eprintln!(
        "sim wire: {} frames (seed {seed}: {}), {} disagreements",
        frames + 1,
        spread.join(", "),
        found.len()
    );
    match found.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// `sim fsops`: exit 1 on a disagreement between MemFs and the kernel, 2 when it cannot run.
fn fsops_command(seed: u64, sequences: u64) -> ExitCode {
    let found = sim::fsops::refuses_a_file_root().and_then(|()| sim::fsops::run(seed, sequences));
    let (found, tally) = match found {
        Ok(found) => found,
        Err(message) => {
            eprintln!("sim fsops: error: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(d) = found.first() {
        eprintln!("sequence {} of seed {seed} disagrees after:", d.sequence);
        for call in &d.calls {
            eprintln!("  {call}");
        }
        eprintln!("  MemFs:  {}\n  kernel: {}", d.mem, d.disk);
    }
    for d in found.iter().skip(1).take(MAX_LISTED) {
        let last = d.calls.last().map_or("the tree", String::as_str);
        eprintln!(
            "sequence {}: {last}: MemFs {}, kernel {}",
            d.sequence, d.mem, d.disk
        );
    }
    let failed: u64 = tally.failures.values().sum();
    let spread: Vec<String> = tally
        .failures
        .iter()
        .map(|(e, n)| format!("{e} ×{n}"))
        .collect();
    eprintln!(
        "sim fsops: {sequences} sequences (seed {seed}), {} calls, {failed} failed on the kernel ({}), {} disagreements",
        tally.calls,
        spread.join(", "),
        found.len()
    );
    match found.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}
