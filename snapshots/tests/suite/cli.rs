//! The `sim` command line's usage errors, exactly as the binary prints them (clap's rendering,
//! without colour), for bad or missing arguments of every subcommand. (Bare `sim` prints the
//! subcommand list, which depends on cargo features, so it is left out.)

use clap::Parser;
use sim::cli::Cli;

#[test]
fn cli_error_catalogue() {
    let cases: &[&[&str]] = &[
        &["sim", "fly"],
        &["sim", "run", "--schedules", "10"],
        &["sim", "run", "--seed", "x", "--schedules", "10"],
        &["sim", "run", "--seed", "1", "--schedules", "0"],
        &[
            "sim",
            "run",
            "--seed",
            "1",
            "--schedules",
            "10",
            "--fs",
            "tape",
        ],
        &[
            "sim",
            "run",
            "--seed",
            "1",
            "--schedules",
            "10",
            "--threads",
            "0",
        ],
        &["sim", "run", "--seed", "1", "--schedules", "10", "--colour"],
        &["sim", "replay"],
        &["sim", "replay", "--seed", "1"],
        &[
            "sim",
            "replay",
            "--seed",
            "1",
            "--schedule",
            "2",
            "--scenario",
            "s.json",
        ],
        &[
            "sim",
            "replay",
            "--seed",
            "1",
            "--schedule",
            "2",
            "--fs",
            "both",
        ],
        &["sim", "exhaustive", "--fs", "ram"],
        &["sim", "chaos", "--seed", "1"],
        &[
            "sim",
            "run",
            "--seed",
            "1",
            "--schedules",
            "9",
            "--shard",
            "0/4",
        ],
        &[
            "sim",
            "run",
            "--seed",
            "1",
            "--schedules",
            "9",
            "--shard",
            "5/4",
        ],
        &[
            "sim",
            "run",
            "--seed",
            "1",
            "--schedules",
            "9",
            "--shard",
            "2",
        ],
        &["sim", "merge"],
        &["sim", "policies", "--seed", "1"],
        &[
            "sim",
            "policies",
            "--seed",
            "1",
            "--schedules",
            "9",
            "--granularity",
            "1s,3h",
        ],
        &[
            "sim",
            "policies",
            "--seed",
            "1",
            "--schedules",
            "9",
            "--granularity",
            "0ns",
        ],
        &[
            "sim",
            "policies",
            "--seed",
            "1",
            "--schedules",
            "9",
            "--policies",
            "heph,svn",
        ],
    ];
    let mut out = String::new();
    for args in cases {
        let error = match Cli::try_parse_from(*args) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => e,
        };
        out.push_str(&format!(
            "$ {}\n{}\n",
            args.join(" "),
            error.render().to_string().trim_end()
        ));
        out.push_str(&format!("(exit code {})\n\n", error.exit_code()));
    }
    insta::assert_snapshot!("cli_errors", out);
}
