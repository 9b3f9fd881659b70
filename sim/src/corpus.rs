//! The corpus: scenarios worth keeping (every seeded regression's shrunk catch, failures found
//! by campaigns), saved as versioned scenario files (`sim/corpus/*.json`) rather than as seeds,
//! so an entry replays the same scenario after the generator changes. `just test` replays
//! every entry on the reference engine (clean) and, with the `regressions` feature, checks that
//! each entry still catches the regression it was kept for.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::schedule::{PolicyCell, RunOptions};

/// The corpus file format's version.
pub const VERSION: u32 = 1;
/// At most this many entries are read from one directory.
pub const MAX_ENTRIES: usize = 10_000;
/// At most this many bytes in one entry file.
pub const MAX_ENTRY_BYTES: u64 = 1 << 20;

/// One corpus entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The file format's version ([`VERSION`]).
    pub version: u32,
    /// What it is (also its file name).
    pub name: String,
    /// The seeded regression it catches, if it was kept for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catches: Option<String>,
    /// The invariant that must catch it (with `catches`, the regression's
    /// `sim::mutants::must_catch`; for a campaign's failure, the invariant it broke).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariant: Option<crate::oracle::Invariant>,
    /// Every mutation must fire and change something (an exhaustive case): a case that does
    /// not is a `harness` violation, as in `sim exhaustive`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub must_fire: bool,
    /// Run with the racy walker rule.
    #[serde(default)]
    pub racy: bool,
    /// Run in this cell of the policy matrix (walker policy and granularity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<PolicyCell>,
    /// The scenario.
    pub scenario: Scenario,
}

impl Entry {
    /// How to run the entry's scenario on MemFs: its walker rule or policy cell.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            racy: self.racy,
            cell: self.cell,
            ..RunOptions::default()
        }
    }
}

/// Reads every `*.json` entry of `dir`, sorted by file name; an error names the file and what
/// is wrong with it.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Entry)>, String> {
    let listing = std::fs::read_dir(dir).map_err(|e| format!("corpus {}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for item in listing {
        let path = item
            .map_err(|e| format!("corpus {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
        if paths.len() > MAX_ENTRIES {
            return Err(format!(
                "corpus {}: more than {MAX_ENTRIES} entries",
                dir.display()
            ));
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| load(&path).map(|entry| (path, entry)))
        .collect()
}

/// Reads one entry.
pub fn load(path: &Path) -> Result<Entry, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{shown}: {e}"))?
        .len();
    if size > MAX_ENTRY_BYTES {
        return Err(format!(
            "{shown}: {size} bytes; an entry holds at most {MAX_ENTRY_BYTES}"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{shown}: not a corpus entry: {e}"))?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "{shown}: corpus version {v}, this sim reads version {VERSION}"
            ))
        }
        None => {
            return Err(format!(
                "{shown}: not a corpus entry: no \"version\" number"
            ))
        }
    }
    let entry: Entry =
        serde_json::from_value(value).map_err(|e| format!("{shown}: not a corpus entry: {e}"))?;
    entry
        .scenario
        .validate()
        .map_err(|e| format!("{shown}: invalid scenario: {e}"))?;
    Ok(entry)
}

/// Writes `entry` into `dir` as `<name>.json` (atomically), creating `dir` if needed.
pub fn save(dir: &Path, entry: &Entry) -> Result<PathBuf, String> {
    assert_eq!(
        entry.version, VERSION,
        "entries are written in the current version"
    );
    let file: String = entry
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if file.is_empty() {
        return Err("a corpus entry needs a name".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("corpus {}: {e}", dir.display()))?;
    let path = dir.join(format!("{file}.json"));
    let text = serde_json::to_string_pretty(entry).map_err(|e| e.to_string())? + "\n";
    crate::report::write_output(&path, &text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_bad_files_name_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry {
            version: VERSION,
            name: "a b/c".into(),
            catches: Some("drop_exec_byte".into()),
            invariant: Some(crate::oracle::Invariant::HashParity),
            must_fire: false,
            racy: false,
            cell: Some(PolicyCell {
                policy: engine::walker::Policy::Cargo,
                granularity_ns: 1_000,
            }),
            scenario: crate::scenario::generate(1, 0),
        };
        let path = save(dir.path(), &entry).unwrap();
        assert_eq!(path.file_name().unwrap(), "a_b_c.json");
        assert_eq!(load_dir(dir.path()).unwrap(), vec![(path, entry.clone())]);
        for (name, text, why) in [
            (
                "v.json",
                r#"{"version": 9, "name": "x", "scenario": {}}"#,
                "corpus version 9",
            ),
            ("j.json", "{", "not a corpus entry"),
            (
                "u.json",
                r#"{"version": 1, "name": "x", "colour": 1, "scenario": {}}"#,
                "unknown field",
            ),
            (
                "s.json",
                r#"{"version": 1, "name": "x", "scenario": {"files": [], "view": [],
                    "view_cached": false, "consumers": [], "mutations": []}}"#,
                "invalid scenario",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let err = load(&path).unwrap_err();
            assert!(err.contains(name) && err.contains(why), "{err}");
        }
    }
}
