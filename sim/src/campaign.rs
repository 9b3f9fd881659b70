//! Campaigns: many schedules, on one or both file systems, over worker threads, merged in
//! schedule order into one deterministic report.
//!
//! Architecture Invariant: a schedule's result depends only on `(seed, index, options)`;
//! workers take indices round-robin and results are merged by index, so thread count and
//! scheduling never change the report (except `timing`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::oracle::Invariant;
use crate::panics;
use crate::report::{Report, Timing, Violation};
use crate::scenario::{generate, Scenario};
use crate::schedule::{run, FsKind, PolicyCell, RunOptions, ScheduleResult, Variant};
use crate::shrink::shrink;

/// At most this many schedules in one campaign.
pub const MAX_SCHEDULES: u64 = 1_000_000_000;
/// At most this many worker threads.
pub const MAX_THREADS: usize = 256;

/// Which file systems a campaign uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FsChoice {
    /// MemFs only.
    Mem,
    /// DiskFs only.
    Disk,
    /// Both, compared (differential mode).
    Both,
}

/// Campaign settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CampaignOptions {
    /// Seed.
    pub seed: u64,
    /// Number of schedules.
    pub schedules: u64,
    /// File systems.
    pub fs: FsChoice,
    /// Worker threads.
    pub threads: usize,
    /// Racy walker option.
    pub racy: bool,
    /// Engine variant.
    pub variant: Variant,
    /// Shrink failing schedules.
    pub shrink: bool,
    /// Run only this shard (K/N, 1-based) of the `schedules`.
    pub shard: Option<(u64, u64)>,
    /// Swarm schedules: each from a random subset of kinds, points and consumer paths.
    pub swarm: bool,
    /// Keep each schedule's fingerprint in the report (`Report::fingerprints`).
    pub fingerprints: bool,
    /// Every schedule under this cell of the policy matrix (`sim run --policy`), instead of
    /// the policy lane's rotation.
    pub cell: Option<PolicyCell>,
}

/// One schedule in this many of a MemFs campaign runs under a cell of the policy matrix (every
/// walker policy and pipeline guard but heph's, at every granularity, in turn), so that the
/// main job judges them all: `sim replay` then needs the cell's `--policy` and `--granularity`.
pub const POLICY_LANE: u64 = 8;

/// The policy cell schedule `index` of a campaign runs under, if it is one of the lane's.
pub fn cell_of(options: &CampaignOptions, index: u64) -> Option<PolicyCell> {
    if options.cell.is_some() {
        return options.cell;
    }
    let lane = options.fs == FsChoice::Mem && index % POLICY_LANE == POLICY_LANE - 1;
    lane.then(|| crate::policies::lane_cell(index / POLICY_LANE))
}

/// The per-schedule work a campaign merges.
pub struct Ran {
    /// Schedule index.
    pub index: u64,
    /// The policy cell it ran under (the campaign's lane), if any.
    pub cell: Option<PolicyCell>,
    /// The scenario.
    pub scenario: Scenario,
    /// One result per file system run.
    pub results: Vec<(FsKind, Result<ScheduleResult, String>)>,
}

/// The replay command of a schedule.
pub fn replay_command(seed: u64, index: u64, fs: FsKind, options: &CampaignOptions) -> String {
    let fs = if fs == FsKind::Mem { "mem" } else { "disk" };
    let racy = if options.racy { " --racy" } else { "" };
    let swarm = if options.swarm { " --swarm" } else { "" };
    let cell = cell_of(options, index).map_or(String::new(), |c| {
        format!(
            " --policy {} --granularity {}ns",
            c.policy.name(),
            c.granularity_ns
        )
    });
    format!("sim replay --seed {seed} --schedule {index} --fs {fs}{racy}{swarm}{cell}")
}

/// Schedule `index` of the campaign `options` describe.
pub fn scenario_of(options: &CampaignOptions, index: u64) -> Scenario {
    match options.swarm {
        true => crate::scenario::generate_swarm(options.seed, index),
        false => generate(options.seed, index),
    }
}

fn kinds(choice: FsChoice) -> &'static [FsKind] {
    match choice {
        FsChoice::Mem => &[FsKind::Mem],
        FsChoice::Disk => &[FsKind::Disk],
        FsChoice::Both => &[FsKind::Mem, FsKind::Disk],
    }
}

/// Runs one scenario on the chosen file systems.
pub fn run_on(
    scenario: &Scenario,
    index: u64,
    (choice, cell): (FsChoice, Option<PolicyCell>),
    racy: bool,
    variant: Variant,
) -> Ran {
    let results = kinds(choice)
        .iter()
        .map(|&fs| {
            (
                fs,
                run(
                    scenario,
                    &RunOptions {
                        fs,
                        racy,
                        variant,
                        keep_trace: false,
                        cell,
                        digest: choice == FsChoice::Both,
                    },
                ),
            )
        })
        .collect();
    Ran {
        index,
        cell,
        scenario: scenario.clone(),
        results,
    }
}

/// Runs a campaign; `progress` is called with (done, violations) now and then.
pub fn campaign(options: &CampaignOptions, progress: &(dyn Fn(u64, u64) + Sync)) -> Report {
    assert!(
        options.threads >= 1 && options.threads <= MAX_THREADS,
        "threads out of range"
    );
    assert!(options.schedules <= MAX_SCHEDULES, "schedules out of range");
    let started = Instant::now();
    let done = AtomicU64::new(0);
    let violations = AtomicU64::new(0);
    let mut report = Report {
        mode: "run".into(),
        seed: options.seed,
        schedules: options.schedules,
        racy: options.racy,
        swarm: options.swarm,
        cell: options.cell,
        shard: options.shard.map(|(index, count)| crate::report::Shard {
            index,
            count,
            of: options.schedules,
        }),
        ..Report::default()
    };
    report.fs = format!("{:?}", options.fs).to_lowercase();
    // Shard K/N takes schedules K-1, K-1+N, …; its threads interleave within them.
    let (shard_first, shard_step) = options.shard.map_or((0, 1), |(k, n)| (k - 1, n));
    assert!(shard_first < shard_step, "a shard is one of its count");
    let threads = options.threads;
    let watchdog =
        crate::watchdog::Watchdog::new(threads, crate::watchdog::Watchdog::limit_from_env());
    let progress_thread = std::thread::current();
    let partials: Vec<Report> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (done, violations, watchdog) = (&done, &violations, &watchdog);
                let progress_thread = progress_thread.clone();
                scope.spawn(move || {
                    let first = shard_first + shard_step * t as u64;
                    let step = shard_step * threads as u64;
                    let counters = (done, violations);
                    let partial = work(options, (first, step), counters, (watchdog, t));
                    // Wakes the progress loop now rather than at its next 100 ms tick.
                    progress_thread.unpark();
                    partial
                })
            })
            .collect();
        while workers.iter().any(|w| !w.is_finished()) {
            progress(
                done.load(Ordering::Relaxed),
                violations.load(Ordering::Relaxed),
            );
            if let Some(index) = watchdog.overdue() {
                hang(options, index, watchdog.limit());
            }
            std::thread::park_timeout(Duration::from_millis(100));
        }
        workers
            .into_iter()
            .enumerate()
            .map(|(t, w)| w.join().unwrap_or_else(|_| lost_worker(t)))
            .collect()
    });
    progress(
        done.load(Ordering::Relaxed),
        violations.load(Ordering::Relaxed),
    );
    report.schedules = 0;
    for partial in partials {
        absorb(&mut report, partial);
    }
    finish(&mut report);
    report.timing = timing(started, report.schedules);
    report
}

/// Puts the merged parts of a report in their final order: violations by schedule (the first
/// [`crate::report::MAX_VIOLATIONS_KEPT`] kept), finding examples the first of each kind.
fn finish(report: &mut Report) {
    report
        .violations
        .sort_by_key(|v| (v.schedule, v.fs.clone()));
    report
        .violations
        .truncate(crate::report::MAX_VIOLATIONS_KEPT);
    report.findings.normalize();
}

/// Merges the reports of the shards of one campaign (`sim merge`) into the report the unsharded
/// campaign gives, byte for byte but for `timing` (elapsed times are summed). Every shard of
/// the campaign must be there once, all of one seed, size and options.
pub fn merge_shards(shards: Vec<Report>) -> Result<Report, String> {
    let first = shards.first().ok_or("no reports to merge")?;
    let Some(shape) = first.shard else {
        return Err("report 1 is not a shard (it has no \"shard\" field)".into());
    };
    let mut seen = vec![false; shape.count as usize];
    let mut merged = Report {
        mode: first.mode.clone(),
        seed: first.seed,
        fs: first.fs.clone(),
        racy: first.racy,
        swarm: first.swarm,
        cell: first.cell,
        ..Report::default()
    };
    for (i, shard) in shards.into_iter().enumerate() {
        let n = i + 1;
        let Some(s) = shard.shard else {
            return Err(format!("report {n} is not a shard"));
        };
        let same = (
            s.count,
            s.of,
            &shard.mode,
            shard.seed,
            &shard.fs,
            shard.racy,
        ) == (
            shape.count,
            shape.of,
            &merged.mode,
            merged.seed,
            &merged.fs,
            merged.racy,
        );
        if !same {
            return Err(format!("report {n} (shard {}/{} of {} schedules, seed {}) is not of the campaign of report 1 (shards of {}, {} schedules, seed {})", s.index, s.count, s.of, shard.seed, shape.count, shape.of, merged.seed));
        }
        let slot = &mut seen[(s.index - 1) as usize];
        if std::mem::replace(slot, true) {
            return Err(format!("shard {}/{} is given twice", s.index, s.count));
        }
        let elapsed = merged.timing.elapsed_ms + shard.timing.elapsed_ms;
        absorb(&mut merged, shard);
        merged.timing.elapsed_ms = elapsed;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(format!("shard {}/{} is missing", missing + 1, shape.count));
    }
    if merged.schedules != shape.of {
        return Err(format!(
            "the shards judged {} schedules of {}",
            merged.schedules, shape.of
        ));
    }
    finish(&mut merged);
    let elapsed = Duration::from_millis(merged.timing.elapsed_ms);
    merged.timing = timing_of(elapsed, merged.schedules);
    Ok(merged)
}

/// One worker's share: schedules `first`, `first + step`, …, each judged under
/// [`panics::catch`], so a panic anywhere in a schedule is a violation of that schedule and the
/// worker goes on. `partial.schedules` counts the schedules actually judged.
fn work(
    options: &CampaignOptions,
    (first, step): (u64, u64),
    (done, violations): (&AtomicU64, &AtomicU64),
    (watchdog, worker): (&crate::watchdog::Watchdog, usize),
) -> Report {
    assert!(step >= 1, "a worker steps forward");
    let mut partial = Report::default();
    let mut index = first;
    while index < options.schedules {
        let before = partial.violation_count;
        watchdog.begin(worker, index);
        let judged = panics::catch(|| {
            let ran = run_on(
                &scenario_of(options, index),
                index,
                (options.fs, cell_of(options, index)),
                options.racy,
                options.variant,
            );
            let mut one = Report::default();
            merge(&mut one, &ran, options);
            one
        });
        match judged {
            Ok(one) => absorb(&mut partial, one),
            Err(message) => partial.add_violation(Violation {
                schedule: index,
                fs: format!("{:?}", options.fs).to_lowercase(),
                invariant: Invariant::Panic,
                message: format!("the harness panicked judging this schedule: {message}"),
                replay: replay_command(options.seed, index, FsKind::Mem, options),
                shrunk: None,
            }),
        }
        watchdog.end(worker);
        partial.schedules += 1;
        violations.fetch_add(partial.violation_count - before, Ordering::Relaxed);
        done.fetch_add(1, Ordering::Relaxed);
        index += step;
    }
    partial
}

/// A schedule ran past the wall-clock limit without spending its step budget: a loop the tap
/// cannot count. Its thread cannot be taken back, so the run ends here, as a violation with its
/// replay, and exits 1.
fn hang(options: &CampaignOptions, index: u64, limit: Duration) -> ! {
    let fs = match options.fs {
        FsChoice::Disk => FsKind::Disk,
        _ => FsKind::Mem,
    };
    eprintln!(
        "sim: FAILED with seed {}: VIOLATION schedule {index} ({:?}): it ran for more than {} s without ending (a loop that makes no file-system step); replay: {}",
        options.seed,
        Invariant::Hang,
        limit.as_secs(),
        replay_command(options.seed, index, fs, options)
    );
    std::process::exit(1)
}

/// The report of a worker thread that died outside every [`panics::catch`]: it judged nothing
/// (its schedules are not counted) and says so as a violation.
fn lost_worker(t: usize) -> Report {
    let mut lost = Report::default();
    lost.add_violation(Violation {
        schedule: t as u64,
        fs: String::new(),
        invariant: Invariant::Panic,
        message: format!("worker thread {t} died; its schedules were not judged"),
        replay: String::new(),
        shrunk: None,
    });
    lost
}

/// Wall-clock timing of `schedules` schedules since `started`.
pub fn timing(started: Instant, schedules: u64) -> Timing {
    timing_of(started.elapsed(), schedules)
}

/// The timing of `schedules` schedules that took `elapsed` (the rate to a tenth).
fn timing_of(elapsed: Duration, schedules: u64) -> Timing {
    let secs = elapsed.as_secs_f64().max(1e-9);
    Timing {
        elapsed_ms: elapsed.as_millis() as u64,
        schedules_per_sec: (schedules as f64 / secs * 10.0).round() / 10.0,
    }
}

/// Folds one schedule's results into a report: counts, findings, violations (shrunk).
pub fn merge(report: &mut Report, ran: &Ran, options: &CampaignOptions) {
    for (fs, result) in &ran.results {
        let result = match result {
            Ok(result) => result,
            Err(message) => {
                let violation = violation(
                    ran,
                    *fs,
                    Invariant::Harness,
                    format!("schedule could not run: {message}"),
                    options,
                    None,
                );
                report.add_violation(violation);
                continue;
            }
        };
        count(report, ran.index, result);
        if options.fingerprints && *fs == ran.results[0].0 {
            report.fingerprints.insert(ran.index, fingerprint(result));
        }
        for broken in &result.broken {
            let shrunk = options
                .shrink
                .then(|| shrink_for(ran, *fs, broken.invariant, options));
            report.add_violation(violation(
                ran,
                *fs,
                broken.invariant,
                broken.message.clone(),
                options,
                shrunk,
            ));
        }
    }
    if let [(FsKind::Mem, Ok(mem)), (FsKind::Disk, Ok(disk))] = ran.results.as_slice() {
        if let Some(message) = differential(mem, disk) {
            report.add_violation(violation(
                ran,
                FsKind::Disk,
                Invariant::Differential,
                message,
                options,
                None,
            ));
        }
    }
}

/// What one schedule did, compactly: its outcomes, then `kind@point=outcome` per fired
/// mutation (the outcome of the build it fired in), in firing order, then after a `|` the
/// invariants it broke (sorted, each once): `ok,ok;edit@after_hashin=ok|integrity`.
fn fingerprint(result: &ScheduleResult) -> String {
    let short = |o: &str| o.rsplit(':').next().unwrap_or(o).to_string();
    let outcomes: Vec<String> = result.outcomes.iter().map(|o| short(o)).collect();
    let mut out = outcomes.join(",");
    for fired in result.fired.iter().filter(|f| f.skipped.is_none()) {
        let built = outcomes.get(usize::from(fired.build).saturating_sub(1));
        let kind = fired.mutation.kind.name();
        let point = fired.mutation.point.name();
        out.push_str(&format!(
            ";{kind}@{point}={}",
            built.map_or("none", |s| s.as_str())
        ));
    }
    let broken: std::collections::BTreeSet<String> =
        result.broken.iter().map(|b| b.invariant.name()).collect();
    out.push(crate::diff::VIOLATED);
    out.push_str(&broken.into_iter().collect::<Vec<_>>().join(","));
    debug_assert!(!out.contains('\n'), "one line per schedule");
    debug_assert_eq!(out.matches(crate::diff::VIOLATED).count(), 1);
    out
}

fn count(report: &mut Report, index: u64, result: &ScheduleResult) {
    report.cached_walker_answers += result.walker.cached_answers;
    report.judged.add(&result.ledger);
    for outcome in &result.outcomes {
        let name = outcome.rsplit(':').next().unwrap_or(outcome).to_string();
        *report.outcomes.entry(name).or_insert(0) += 1;
    }
    for fired in &result.fired {
        *report
            .mutations
            .by_kind
            .entry(fired.mutation.kind.name())
            .or_insert(0) += 1;
        *report
            .mutations
            .by_point
            .entry(fired.mutation.point.name().into())
            .or_insert(0) += 1;
        report.mutations.skipped += u64::from(fired.skipped.is_some());
        let outcome = result
            .outcomes
            .get(usize::from(fired.build).saturating_sub(1))
            .map_or("none", |o| o.rsplit(':').next().unwrap_or(o));
        report.coverage.add(
            fired.mutation.kind,
            fired.mutation.point,
            fired.skipped.is_none(),
            outcome,
        );
    }
    for finding in &result.findings {
        report.add_finding(index, finding.clone());
    }
}

/// How many builds of a schedule the differential compares: all of them, but after a
/// same-size edit left to the clock (`same_size_edit_in_step`), which keeps its mtime within
/// MemFs's simulated step while a real clock has moved on, only the builds up to the one it
/// fired in (a later build's walker answer tells the two clocks apart, nothing else); and
/// only the builds before one whose glob walk trusted a stale directory listing (heph's
/// listing cache: whether an entry added lands in the listing's step is the clock's to say).
/// Every other kind is compared whole: a differential MemFs reads mode-000 files when this
/// process does on the disk (`MemFsConfig::privileged`), and a name that is not UTF-8, which
/// only a real disk can hold, is compared by what the engine made of it (outcomes and
/// deliveries), its mutation's applied-or-skipped aside.
fn compared_builds(result: &ScheduleResult) -> usize {
    use crate::mutation::MutationKind::SameSizeEditInStep;
    let in_step = result
        .fired
        .iter()
        .filter(|f| f.mutation.kind == SameSizeEditInStep);
    let listing = result.stale_listing_build.map(|b| usize::from(b) - 1);
    in_step
        .map(|f| usize::from(f.build))
        .chain(listing)
        .min()
        .unwrap_or(usize::MAX)
}

fn differential(mem: &ScheduleResult, disk: &ScheduleResult) -> Option<String> {
    let builds = compared_builds(mem).min(compared_builds(disk));
    let upto = |o: &[String]| o[..o.len().min(builds)].to_vec();
    let (mem_outcomes, disk_outcomes) = (upto(&mem.outcomes), upto(&disk.outcomes));
    if mem_outcomes != disk_outcomes {
        return Some(format!(
            "MemFs outcomes {mem_outcomes:?} but DiskFs outcomes {disk_outcomes:?}"
        ));
    }
    // A delivery line starts `b{build} `.
    let delivered = |d: &[String]| -> Vec<String> {
        d.iter()
            .filter(|line| {
                line.get(1..2)
                    .and_then(|b| b.parse::<usize>().ok())
                    .is_some_and(|b| b <= builds)
            })
            .cloned()
            .collect()
    };
    let (mem_deliveries, disk_deliveries) =
        (delivered(&mem.deliveries), delivered(&disk.deliveries));
    if mem_deliveries != disk_deliveries {
        let first = mem_deliveries
            .iter()
            .zip(&disk_deliveries)
            .find(|(a, b)| a != b);
        return Some(format!(
            "MemFs and DiskFs delivered different bytes: {first:?} ({} vs {} entries)",
            mem_deliveries.len(),
            disk_deliveries.len()
        ));
    }
    let skipped = |r: &ScheduleResult| {
        r.fired
            .iter()
            .filter(|f| f.mutation.kind != crate::mutation::MutationKind::AddUndecodable)
            .filter(|f| usize::from(f.build) <= builds)
            .map(|f| (f.index, f.skipped.is_some()))
            .collect::<Vec<_>>()
    };
    (skipped(mem) != skipped(disk)).then(|| {
        format!(
            "MemFs fired {:?} but DiskFs fired {:?}",
            skipped(mem),
            skipped(disk)
        )
    })
}

fn shrink_for(ran: &Ran, fs: FsKind, invariant: Invariant, options: &CampaignOptions) -> Scenario {
    let fails = |candidate: &Scenario| {
        let result = run(
            candidate,
            &RunOptions {
                fs,
                racy: options.racy,
                variant: options.variant,
                keep_trace: false,
                cell: ran.cell,
                digest: options.fs == FsChoice::Both,
            },
        )
        .ok()?;
        result
            .broken
            .iter()
            .map(|b| b.invariant)
            .find(|i| *i == invariant)
    };
    shrink(&ran.scenario, invariant, &fails)
}

fn violation(
    ran: &Ran,
    fs: FsKind,
    invariant: Invariant,
    message: String,
    options: &CampaignOptions,
    shrunk: Option<Scenario>,
) -> Violation {
    Violation {
        schedule: ran.index,
        fs: format!("{fs:?}").to_lowercase(),
        invariant,
        message,
        replay: replay_command(options.seed, ran.index, fs, options),
        shrunk,
    }
}

fn absorb(report: &mut Report, partial: Report) {
    for (k, v) in partial.outcomes {
        *report.outcomes.entry(k).or_insert(0) += v;
    }
    for (k, v) in partial.mutations.by_kind {
        *report.mutations.by_kind.entry(k).or_insert(0) += v;
    }
    for (k, v) in partial.mutations.by_point {
        *report.mutations.by_point.entry(k).or_insert(0) += v;
    }
    report.mutations.skipped += partial.mutations.skipped;
    report.coverage.absorb(partial.coverage);
    report.schedules += partial.schedules;
    report.cached_walker_answers += partial.cached_walker_answers;
    report.judged.absorb(&partial.judged);
    for (k, v) in partial.findings.counts {
        *report.findings.counts.entry(k).or_insert(0) += v;
    }
    report.findings.examples.extend(partial.findings.examples);
    report.violation_count += partial.violation_count;
    report.violations.extend(partial.violations);
    report.fingerprints.extend(partial.fingerprints);
}
