//! Issue 8, item 3: reading a passthrough source through `VerifyingReader` (xxh3 of every
//! byte, checked at EOF) versus a plain read of the same file, on DiskFs, for 4 KiB, 64 KiB,
//! 1 MiB and 64 MiB files, read to EOF in 64 KiB buffers.
//!
//! Two cache states: `plain`/`verified` read a file hot in the page cache (memory-bound: the
//! read itself is a memory copy); `plain_cold`/`verified_cold` (1 MiB and up) evict the file's
//! pages before every iteration with `posix_fadvise(DONTNEED)`, so the bytes come from the
//! disk, as for a workspace a build touches for the first time.

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use engine::fs::{DiskFs, Fs};
use engine::hash::{bytes_hashout, CHUNK};
use engine::passthrough::VerifyingReader;
use engine::Ctx;

const SIZES: [(usize, &str); 4] = [
    (4 << 10, "4KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
    (64 << 20, "64MiB"),
];

/// Reads `reader` to EOF in [`CHUNK`]-sized reads; returns the bytes read.
fn drain(mut reader: impl Read, buf: &mut [u8]) -> u64 {
    let mut total = 0u64;
    loop {
        match reader.read(buf).expect("read") {
            0 => return total,
            n => total += n as u64,
        }
    }
}

/// Drops the (clean, fsynced) pages of `path` from the page cache.
fn evict(path: &Path) {
    let file = std::fs::File::open(path).expect("open to evict");
    file.sync_all().expect("fsync before evicting");
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
}

/// Plain versus verified reads of the file at `path` (under `root`) with its pages evicted
/// before each iteration (eviction is outside the clock).
fn cold(group: &mut BenchmarkGroup<WallTime>, ctx: &Ctx, root: &Path, path: &Path, label: &str) {
    let expected = engine::hash::file_hashout(&root.join(path), false).expect("hash");
    let mut buf = vec![0u8; CHUNK];
    group.bench_with_input(BenchmarkId::new("plain_cold", label), &path, |b, path| {
        b.iter_batched(
            || evict(&root.join(path)),
            |()| black_box(drain(ctx.fs.open(path).expect("open"), &mut buf)),
            BatchSize::PerIteration,
        )
    });
    group.bench_with_input(
        BenchmarkId::new("verified_cold", label),
        &path,
        |b, path| {
            b.iter_batched(
                || evict(&root.join(path)),
                |()| {
                    let inner = ctx.fs.open(path).expect("open");
                    let reader = VerifyingReader::new(inner, ctx.clone(), path, &expected, false);
                    black_box(drain(reader, &mut buf))
                },
                BatchSize::PerIteration,
            );
            ctx.trace.take();
        },
    );
}

fn verified_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fs: Arc<dyn Fs> = Arc::new(DiskFs::new(dir.path()).expect("DiskFs"));
    let ctx = Ctx::new(fs.clone());
    let mut buf = vec![0u8; CHUNK];
    let mut group = c.benchmark_group("verified_read");
    for (size, label) in SIZES {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let path = PathBuf::from(format!("src/{label}.bin"));
        fs.write(&path, &data).expect("write source");
        let expected = bytes_hashout(&data, false);
        drop(data);
        group.throughput(Throughput::Bytes(size as u64));
        if size >= 64 << 20 {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::new("plain", label), &path, |b, path| {
            b.iter(|| black_box(drain(fs.open(path).expect("open"), &mut buf)))
        });
        group.bench_with_input(BenchmarkId::new("verified", label), &path, |b, path| {
            b.iter(|| {
                let inner = fs.open(path).expect("open");
                let reader = VerifyingReader::new(inner, ctx.clone(), path, &expected, false);
                black_box(drain(reader, &mut buf))
            });
            // The reader appends a VerifyOk event per read; keep the trace from growing.
            ctx.trace.take();
        });
        if size >= 1 << 20 {
            group.sample_size(10);
            cold(&mut group, &ctx, dir.path(), &path, label);
        }
        fs.remove_file(Path::new(&path)).expect("remove source");
    }
    group.finish();
}

criterion_group!(benches, verified_read);
criterion_main!(benches);
