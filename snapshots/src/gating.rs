//! The gating table (SPEC §4): every content kind × passthrough flag × cache enabled × shell ×
//! plugin boundary, with the engine's decision, rendered as one aligned text table.
//!
//! The decision comes from the engine's own `CacheConfig::use_tmp_cache`, `is_passthrough` and
//! ABI round trip (`to_wire` then `from_wire`), so any change to gating shows as a table diff.

use std::path::PathBuf;

use engine::abi::{from_wire, to_wire};
use engine::artifact::View;
use engine::{is_passthrough, Artifact, ArtifactType, CacheConfig, Content};

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `file`, `raw`, `tar` or `view`.
    pub content: &'static str,
    /// The File's passthrough flag (`None` for the other kinds, which have none).
    pub flag: Option<bool>,
    /// Cache enabled.
    pub enabled: bool,
    /// Shell mode.
    pub shell: bool,
    /// The artifact crossed the plugin ABI (to the wire and back) before gating.
    pub plugin: bool,
    /// `passthrough`, `pack`, or `error: ...` when it cannot cross.
    pub decision: String,
}

fn contents() -> Vec<(Content, Option<bool>)> {
    let file = |passthrough| Content::File {
        source_path: PathBuf::from("src/a.txt"),
        out_path: PathBuf::from("src/a.txt"),
        x: false,
        passthrough,
    };
    vec![
        (file(true), Some(true)),
        (file(false), Some(false)),
        (
            Content::Raw {
                data: vec![1, 2, 3],
                path: PathBuf::from("raw"),
                x: false,
            },
            None,
        ),
        (Content::Tar(PathBuf::from("out_lib.tar")), None),
        (Content::View(Box::<View>::default()), None),
    ]
}

/// Every row, content kinds first, then enabled, shell, plugin boundary.
pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (content, flag) in contents() {
        for enabled in [false, true] {
            for shell in [false, true] {
                for plugin in [false, true] {
                    let tmp = CacheConfig { enabled, shell }.use_tmp_cache();
                    let artifact = Artifact {
                        group: "lib".into(),
                        kind: ArtifactType::Output,
                        content: content.clone(),
                        hashout: "0".into(),
                    };
                    let decision = match crossed(artifact, plugin) {
                        Ok(a) if is_passthrough(tmp, &a.content) => "passthrough".to_string(),
                        Ok(_) => "pack".to_string(),
                        Err(e) => format!("error: {e}"),
                    };
                    rows.push(Row {
                        content: content.kind_name(),
                        flag,
                        enabled,
                        shell,
                        plugin,
                        decision,
                    });
                }
            }
        }
    }
    rows
}

fn crossed(artifact: Artifact, plugin: bool) -> engine::Result<Artifact> {
    if plugin {
        Ok(from_wire(to_wire(&artifact)?))
    } else {
        Ok(artifact)
    }
}

/// The whole table as aligned text, with a header.
pub fn table() -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut lines = vec![[
        "content".to_string(),
        "flag".into(),
        "cache enabled".into(),
        "shell".into(),
        "tmp cache".into(),
        "plugin boundary".into(),
        "decision".into(),
    ]];
    for row in rows() {
        let tmp = CacheConfig {
            enabled: row.enabled,
            shell: row.shell,
        }
        .use_tmp_cache();
        lines.push([
            row.content.to_string(),
            row.flag.map_or("-", yes).to_string(),
            yes(row.enabled).into(),
            yes(row.shell).into(),
            yes(tmp).into(),
            if row.plugin { "crossed" } else { "-" }.into(),
            row.decision,
        ]);
    }
    let mut widths = [0usize; 7];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:w$}"))
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
    }
    out
}
