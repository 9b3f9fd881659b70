//! Smoke mode: `just bench-quick` passes `--test` (criterion's run-once mode) to every bench
//! binary; the custom binaries read the same flag (or `--quick`) and shrink their sizes.

/// True when the bench binary was started in smoke mode (`--test` or `--quick`).
pub fn is_smoke() -> bool {
    std::env::args().any(|a| a == "--test" || a == "--quick")
}
