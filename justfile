# heph-sim: a reference engine for heph's passthrough pipeline and a harness that attacks it.
# `just test` is what CI runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

sim_seed := env_var_or_default("SIM_SEED", "1")
sim_schedules := env_var_or_default("SIM_SCHEDULES", "100000")

# List the recipes.
default:
    @just --list

# Everything CI checks: formatting, clippy with -D warnings, every test of the workspace.
test:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    cargo test --workspace --locked

# The main job: a simulation campaign (SIM_SEED, SIM_SCHEDULES override it).
sim:
    cargo run --release --locked -p sim -- run --seed {{sim_seed}} --schedules {{sim_schedules}} --fs both

# A short engine demo: one build on a temporary real directory, with its event trace.
demo:
    cargo run --release --locked -p sim --example demo

# Format the workspace.
fmt:
    cargo fmt --all

# Review snapshot changes (installs cargo-insta when missing).
review:
    command -v cargo-insta >/dev/null || cargo install cargo-insta --locked
    cargo insta review
