//! The four tests of heph PR #127 (SPEC §9), re-created against this engine under their names.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::sync::Arc;

use engine::fs::DiskFs;
use engine::hash::file_hashout;
use engine::passthrough::{PassthroughContent, VerifyingReader};
use engine::{is_passthrough, Content, Ctx};

fn disk_ctx(dir: &Path) -> Ctx {
    Ctx::new(Arc::new(DiskFs::new(dir).unwrap()))
}

#[test]
fn is_passthrough_gates_on_tmp_and_producer_flag() {
    let file = |passthrough| Content::File {
        source_path: "go.mod".into(),
        out_path: "mgmt/go/go.mod".into(),
        x: false,
        passthrough,
    };
    assert!(is_passthrough(true, &file(true)));
    assert!(!is_passthrough(false, &file(true)));
    assert!(!is_passthrough(true, &file(false)));
    assert!(!is_passthrough(
        true,
        &Content::Raw {
            data: vec![1, 2, 3],
            path: "raw".into(),
            x: false
        }
    ));
}

#[test]
fn passthrough_result_artifact_reads_source_without_cache() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), "module example\n").unwrap();
    let hashout = file_hashout(&dir.path().join("go.mod"), false).unwrap();
    let content = PassthroughContent::new(
        disk_ctx(dir.path()),
        "go.mod".as_ref(),
        "mgmt/go/go.mod".as_ref(),
        false,
        &hashout,
    );
    assert!(content.seekable_reader().is_none(), "no seekable reader");
    assert!(content.file_path().is_none(), "no cache file path");
    let mut entries = content.walk().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].path, Path::new("mgmt/go/go.mod"));
    let mut bytes = String::new();
    entries[0].reader.read_to_string(&mut bytes).unwrap();
    assert_eq!(bytes, "module example\n");
}

#[test]
fn passthrough_read_fails_when_source_modified_after_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("go.mod");
    std::fs::write(&path, "module example\n").unwrap();
    let hashout = file_hashout(&path, false).unwrap();
    std::fs::write(&path, "module tampered\n").unwrap();
    let content = PassthroughContent::new(
        disk_ctx(dir.path()),
        "go.mod".as_ref(),
        "mgmt/go/go.mod".as_ref(),
        false,
        &hashout,
    );
    let mut entries = content.walk().unwrap();
    let err = entries[0].reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(
        message.contains("modified after it was hashed"),
        "{message}"
    );
    assert!(message.contains("go.mod"), "{message}");
}

#[test]
fn passthrough_reader_matches_file_hashout() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..200_000usize).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big"), &data).unwrap();
    let hashout = file_hashout(&dir.path().join("big"), false).unwrap();
    assert_eq!(hashout, "c25fbb19f343cf66");
    let ctx = disk_ctx(dir.path());
    let open = || ctx.fs.open(Path::new("big")).unwrap();

    let mut good = VerifyingReader::new(open(), ctx.clone(), Path::new("big"), &hashout, false);
    let mut delivered = Vec::new();
    good.read_to_end(&mut delivered).unwrap();
    assert_eq!(delivered, data);

    let wrong = format!("{hashout}0");
    let mut bad = VerifyingReader::new(open(), ctx.clone(), Path::new("big"), &wrong, false);
    let err = bad.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
}
