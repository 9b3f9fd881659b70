//! The gating table (SPEC §4) as one snapshot, plus the rules it must show, checked row by row
//! from the SPEC's formula (written out here, independently of the engine).

use snapshots::gating::{rows, table};

#[test]
fn gating_table() {
    insta::assert_snapshot!("gating_table", table());
}

#[test]
fn gating_rows_follow_spec_section_4() {
    let rows = rows();
    assert_eq!(rows.len(), 5 * 2 * 2 * 2, "every combination, once");
    for row in &rows {
        let tmp = !row.enabled || row.shell;
        let expected = match (row.content, row.flag, row.plugin) {
            ("view", _, true) => "error: a View (lib) cannot cross the plugin ABI",
            // Plugin outputs lose the flag on the wire and always pack.
            (_, _, true) => "pack",
            ("file", Some(true), false) | ("view", None, false) if tmp => "passthrough",
            _ => "pack",
        };
        assert_eq!(row.decision, expected, "{row:?}");
    }
}
