# heph-sim: a reference engine for heph's passthrough pipeline and a harness that attacks it.
# `just test` is what CI runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

sim_seed := env_var_or_default("SIM_SEED", "1")
sim_schedules := env_var_or_default("SIM_SCHEDULES", "100000")
threads := `nproc 2>/dev/null || echo 2`

# List the recipes.
default:
    @just --list

# Everything CI checks: formatting, clippy with -D warnings, every test of the workspace under
# cargo-nextest (a hung test is killed and named after 2 minutes: .config/nextest.toml), and a
# check that this limit really works.
test:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    INSTA_UPDATE=no cargo nextest run --workspace --locked
    cargo nextest run --locked -p sim --features regressions --test kill_matrix --test crash --test fuzz_corpus --test spec_trace --test diff
    just loom-bounded
    bash scripts/hang-check

# Runs the test suites N times with fresh proptest seeds; reports any test that failed or timed out.
flake n="20":
    python3 scripts/flake {{n}}

# The main job: a MemFs campaign, a MemFs/DiskFs differential run, then MemFs against the
# kernel call by call, and the plugin ABI's wire form against the oracle's reading (SIM_SEED,
# SIM_SCHEDULES).
sim:
    cargo build --release --locked -p sim
    ./target/release/sim run --seed {{sim_seed}} --schedules {{sim_schedules}} --fs mem --threads {{threads}} --json sim-report.json
    ./target/release/sim run --seed {{sim_seed}} --schedules 2000 --fs both --threads {{threads}} --json sim-report-differential.json
    ./target/release/sim fsops --seed {{sim_seed}} --sequences 20000
    ./target/release/sim wire --seed {{sim_seed}} --frames 20000

# Real-tool conformance (issue 24): installs git, Mercurial and both ccache generations when
# missing, then holds the models of their rules against the real binaries, on the disk's file
# system and on tmpfs. At the default 1,000 sequences a tool it takes hours (a Mercurial or
# ccache sequence takes one to three seconds): `just tools 100` for a quick look.
tools sequences="1000" seed="1":
    . scripts/ensure-tools && cargo build --release --locked -p sim
    mkdir -p policies
    ./target/release/sim tools --sequences {{sequences}} --seed {{seed}} --root "${TMPDIR:-/tmp}" --markdown policies/tools-disk.md
    ./target/release/sim tools --sequences {{sequences}} --seed {{seed}} --root /dev/shm --markdown policies/tools-tmpfs.md

# The bounded-exhaustive enumeration: everything (singles and pairs) on MemFs with its coverage
# map, then the slice on DiskFs. `just test` runs only the slice, on MemFs.
exhaustive:
    cargo build --release --locked -p sim
    ./target/release/sim exhaustive --scope full --fs mem --coverage --coverage-svg exhaustive-coverage.svg
    ./target/release/sim exhaustive --scope slice --fs disk

# The validation-policy matrix (POLICIES.md): the same schedules under every walker policy and
# timestamp granularity; JSON, Markdown and an SVG heat map in policies/.
policies seed="1" schedules="10000":
    cargo build --release --locked -p sim
    mkdir -p policies
    ./target/release/sim policies --seed {{seed}} --schedules {{schedules}} --threads {{threads}} --json policies/matrix.json --markdown policies/matrix.md --svg policies/matrix.svg

# Coverage-guided fuzzing (cargo-fuzz, libFuzzer): input bytes are the generator's decision
# tape; a violation aborts with the scenario JSON. Needs the nightly toolchain (installed here
# beside stable); grows fuzz/corpus/schedule, which `just test` replays on stable. Sanitizer
# coverage without AddressSanitizer (`-s none`): the engine is safe Rust, and ASan made each
# input about ten times slower.
fuzz seconds="300":
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    cd fuzz && cargo +nightly fuzz run -s none schedule corpus/schedule -- -max_total_time={{seconds}} -max_len=4096

# Time to kill every seeded regression by random, swarm and mix schedules and by the fuzzer,
# in one run (BENCHMARKS.md §7; nightly for the fuzzer); the table lands in kill-times/.
kill-times budget="200000" fuzz_cap="300":
    python3 scripts/kill-times --budget {{budget}} --fuzz-cap {{fuzz_cap}} --out kill-times

# A chaos run: a real thread mutates files on DiskFs while the engine runs.
chaos seed="1" schedules="2000":
    cargo run --release --locked -p sim -- chaos --seed {{seed}} --schedules {{schedules}}

# Print the trace of one schedule.
replay seed schedule fs="mem":
    cargo run --release --locked -p sim -- replay --seed {{seed}} --schedule {{schedule}} --fs {{fs}}

# A long campaign (10^6 schedules) for engine changes; not part of `just test`.
soak seed="1":
    cargo build --release --locked -p sim
    ./target/release/sim run --seed {{seed}} --schedules 1000000 --fs mem --threads {{threads}} --json sim-report-soak.json

# The kill matrix (every seeded engine regression against the simulator, JSON in
# mutants.json), then cargo-mutants over the engine core (.cargo/mutants.toml; about an hour on
# 2 cores; `cargo mutants --iterate` afterwards re-tests only what was missed or changed).
mutants:
    cargo run --release --locked -p sim --features regressions -- mutants --json mutants.json
    command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
    cargo mutants --no-shuffle -j 2

# One shard of the cargo-mutants run, e.g. `just mutants-shard 0/8` (about 40 mutants).
mutants-shard shard:
    command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
    cargo mutants --no-shuffle -j 1 --shard {{shard}}

# The same regressions against the props and snapshots suites: which suite catches which.
mutants-suites:
    bash scripts/mutants-suites

# Loom models of the verifying reader and the tmp cache (LOOM_MAX_PREEMPTIONS bounds the search).
loom preemptions=env_var_or_default("LOOM_MAX_PREEMPTIONS", "3"):
    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS={{preemptions}} CARGO_TARGET_DIR=target/loom cargo test -p props --release --locked --test loom_reader --test loom_tmp_cache

# The bounded loom run that `just test` includes.
loom-bounded:
    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=1 CARGO_TARGET_DIR=target/loom cargo nextest run -p props --release --locked --test loom_reader --test loom_tmp_cache

# Benchmarks (issue 8): criterion + custom binaries, then ratio tables and bench/cache_write_scaling.svg.
bench:
    cargo bench -p bench --locked
    if [ -d /dev/shm ]; then TMPDIR=/dev/shm cargo bench -p bench --locked --bench sim_throughput; fi
    python3 bench/report.py

# The SPEC trace's "fires / 10^5" column, measured: a 10^5-schedule default campaign and a
# 2,000-schedule differential run (sim/SPEC-TRACE.md; its test keeps the rest of it true).
spec-trace:
    cargo build --release --locked -p sim
    ./target/release/sim run --seed 1 --schedules 100000 --fs mem --threads {{threads}} --no-shrink --json target/spec-trace-mem.json
    ./target/release/sim run --seed 1 --schedules 2000 --fs both --threads {{threads}} --no-shrink --json target/spec-trace-both.json
    python3 scripts/spec-trace target/spec-trace-mem.json target/spec-trace-both.json

# What the working tree's engine changed against BASE_REF's (default: the merge base with
# main) on the same schedules: `sim diff` of two campaigns (target/diff/diff.md for a PR).
diff base_ref="" schedules="20000" seed="1":
    bash scripts/diff "{{base_ref}}" "{{schedules}}" "{{seed}}"

# The first commit between GOOD and BAD whose engine violates an invariant on SCENARIO (a
# scenario JSON or a corpus entry), by `git bisect run` over `sim replay` in a worktree.
bisect good bad scenario:
    bash scripts/bisect "{{good}}" "{{bad}}" "{{scenario}}"

# `just bisect`'s own test: a clone with a seeded regression switched on in its middle commit.
bisect-check:
    cargo nextest run --locked -p sim --test bisect --run-ignored ignored-only

# Callgrind instructions per schedule of the default MemFs mix, against the budget (1.98 M + 30 %).
cost schedules="500":
    bash scripts/cost {{schedules}}

# Smoke run of every benchmark (criterion --test; tiny N for the custom binaries).
bench-quick:
    cargo bench -p bench --locked -- --test

# Format the workspace.
fmt:
    cargo fmt --all

# Review snapshot changes (installs cargo-insta when missing).
review:
    command -v cargo-insta >/dev/null || cargo install cargo-insta --locked
    cargo insta test -p snapshots --review

# Engine line coverage reached by the simulator alone (a default MemFs campaign, the whole
# exhaustive enumeration, 2,000 differential schedules, a chaos run, MemFs against the kernel
# call by call, the policy matrix, the kill matrix and eight replays), measured with
# cargo-llvm-cov: a summary and every missed line on stdout, HTML in target/llvm-cov/html.
coverage schedules="20000":
    rustup component add llvm-tools
    command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked
    cargo llvm-cov clean --workspace
    just _cov run --seed 1 --schedules {{schedules}} --fs mem
    just _cov exhaustive --scope full --fs mem
    just _cov run --seed 1 --schedules 2000 --fs both
    just _cov chaos --seed 1 --schedules 2000
    just _cov fsops --seed 1 --sequences 20000
    just _cov wire --seed 1 --frames 20000
    just _cov policies --seed 1 --schedules 200 --markdown /dev/null
    just _cov run --seed 2 --schedules 2000 --fs mem --policy ours --granularity 1s
    just _cov mutants --budget-schedules 10000
    for schedule in 0 1 2 3 4 5 6 7; do just _cov replay --seed 1 --schedule $schedule > /dev/null; done
    cargo llvm-cov report --release --html --ignore-filename-regex '/(sim|props|snapshots|bench)/|regress\.rs|\.cargo/registry'
    cargo llvm-cov report --release --show-missing-lines --ignore-filename-regex '/(sim|props|snapshots|bench)/|regress\.rs|\.cargo/registry'

# One `sim` run under coverage instrumentation. The seeded regressions are compiled in (inert
# unless `sim mutants` turns one on), so that their branches are engine lines it can execute.
_cov *args:
    cargo llvm-cov run --no-report --release --locked -p sim --features sim/regressions --bin sim -- {{args}}
