//! Consumer materialization (SPEC §6): turning result artifacts into entries and writing them
//! into a consumer's sandbox by one of the consumer paths.
//!
//! Architecture Invariant: every consumer path reads passthrough bytes through the verifying
//! reader to EOF before the consumer may succeed, and propagates its error kind unchanged
//! (under a Bazel pipeline policy that reader records a change instead of raising it, and
//! `crate::guard` decides on the cache write).

use std::collections::BTreeSet;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use crate::abi;
use crate::artifact::{Artifact, Content};
use crate::cache::{pack, unpack, PackEntry, Store};
use crate::ctx::Ctx;
use crate::error::{EngineError, Result};
use crate::hash::with_chunk_buffer;
use crate::passthrough::{Entry, PassthroughContent};
use crate::probe::Probe;
use crate::trace::{ConsumePath, Event};

/// Largest single entry a consumer will take.
pub const MAX_ENTRY_BYTES: u64 = 1 << 32;

/// What a consumer received for one entry: the simulator's oracle compares it to what was hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Sandbox-relative path.
    pub path: PathBuf,
    /// The bytes written.
    pub data: Vec<u8>,
    /// The exec bit set.
    pub x: bool,
    /// The consumer path used.
    pub via: ConsumePath,
}

/// The entries of one result artifact. Opens passthrough sources (verifying readers) but reads
/// nothing yet.
pub fn entries(ctx: &Ctx, store: &Store, artifact: &Artifact) -> Result<Vec<Entry>> {
    match &artifact.content {
        Content::File {
            source_path,
            out_path,
            x,
            passthrough: true,
        } => {
            let content =
                PassthroughContent::new(ctx.clone(), source_path, out_path, *x, &artifact.hashout);
            content.walk().map_err(|e| EngineError::io(source_path, e))
        }
        Content::File {
            source_path,
            out_path,
            x,
            passthrough: false,
        } => {
            let reader = ctx
                .fs
                .open(source_path)
                .map_err(|e| EngineError::io(source_path, e))?;
            Ok(vec![Entry {
                path: out_path.clone(),
                x: *x,
                reader: Box::new(reader),
            }])
        }
        Content::Raw { data, path, x } => Ok(vec![Entry {
            path: path.clone(),
            x: *x,
            reader: Box::new(Cursor::new(data.clone())),
        }]),
        Content::Tar(path) => Ok(store
            .read_tar(path)?
            .into_iter()
            .map(pack_entry_reader)
            .collect()),
        Content::View(view) => {
            let mut out = Vec::new();
            for inner in &view.artifacts {
                for mut entry in entries(ctx, store, inner)? {
                    entry.path = view.relocate.join(&entry.path);
                    out.push(entry);
                }
            }
            Ok(out)
        }
    }
}

fn pack_entry_reader(entry: PackEntry) -> Entry {
    Entry {
        path: entry.path,
        x: entry.x,
        reader: Box::new(Cursor::new(entry.data)),
    }
}

/// Reads an entry to EOF in 64 KiB reads, as the OS copy path does.
pub fn copy_to_end(reader: &mut dyn Read, path: &Path) -> Result<Vec<u8>> {
    with_chunk_buffer(|buf| copy_with(reader, path, buf, MAX_ENTRY_BYTES))
}

/// Copies to EOF, refusing more than `max` bytes.
fn copy_with(reader: &mut dyn Read, path: &Path, buf: &mut [u8], max: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut interrupts = crate::retry::Interrupts::new();
    loop {
        let n = match reader.read(buf) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) => {
                interrupts.retry(e).map_err(|e| EngineError::io(path, e))?;
                continue;
            }
        };
        interrupts.progressed();
        out.extend_from_slice(&buf[..n]);
        if out.len() as u64 > max {
            return Err(EngineError::Limit {
                what: "entry bytes",
                got: out.len() as u64,
                max,
            });
        }
    }
}

/// Materializes `inputs` into `sandbox` by the consumer path `via`; returns what was delivered.
pub fn materialize(
    ctx: &Ctx,
    store: &Store,
    consumer: &str,
    inputs: &[Artifact],
    sandbox: &Path,
    via: ConsumePath,
) -> Result<Vec<Delivered>> {
    ctx.probe(Probe::BeforeConsume { consumer });
    let mut delivered = match via {
        ConsumePath::OsCopy | ConsumePath::Fuse => copy_inputs(ctx, store, consumer, inputs, via)?,
        ConsumePath::ViewRepack => repack_inputs(ctx, store, inputs)?,
        ConsumePath::PlainReader | ConsumePath::AbiChunked => read_inputs(ctx, store, inputs, via)?,
        ConsumePath::OddReads | ConsumePath::AsyncCopy | ConsumePath::AsyncReadBuf => {
            crate::patterns::read_inputs(ctx, store, inputs, via)?
        }
    };
    reject_collisions(consumer, &delivered)?;
    for item in &mut delivered {
        write_entry(ctx, sandbox, item)?;
        ctx.emit(Event::Materialize {
            consumer: consumer.into(),
            path: item.path.clone(),
            via: item.via,
        });
    }
    ctx.probe(Probe::AfterMaterialize { consumer });
    Ok(delivered)
}

fn reject_collisions(consumer: &str, delivered: &[Delivered]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for item in delivered {
        if !seen.insert(&item.path) {
            return Err(EngineError::Collision {
                consumer: consumer.into(),
                path: item.path.clone(),
            });
        }
    }
    Ok(())
}

/// OS mode: collect every entry first (collision check; opens but reads nothing), then copy each
/// to EOF. FUSE mode mounts cache tars (no copy) and falls back to the copy for passthrough.
fn copy_inputs(
    ctx: &Ctx,
    store: &Store,
    consumer: &str,
    inputs: &[Artifact],
    via: ConsumePath,
) -> Result<Vec<Delivered>> {
    let mut collected = Vec::new();
    let mut delivered = Vec::new();
    let mut seen = BTreeSet::new();
    for artifact in inputs {
        let mounted = via == ConsumePath::Fuse
            && matches!(artifact.content, Content::Tar(_) | Content::Raw { .. });
        let item_via = if mounted {
            ConsumePath::Fuse
        } else {
            ConsumePath::OsCopy
        };
        for entry in entries(ctx, store, artifact)? {
            if !seen.insert(entry.path.clone()) {
                return Err(EngineError::Collision {
                    consumer: consumer.into(),
                    path: entry.path,
                });
            }
            collected.push((entry, item_via, declared_size(ctx, artifact)));
        }
        if crate::regressed!(CopyOpensLazily) {
            for (entry, item_via, declared) in collected.drain(..) {
                delivered.push(copy_entry(entry, item_via, declared)?);
            }
        }
    }
    for (entry, item_via, declared) in collected {
        delivered.push(copy_entry(entry, item_via, declared)?);
    }
    Ok(delivered)
}

/// Copies one collected entry to EOF (no further than `declared` under its regression).
fn copy_entry(mut entry: Entry, via: ConsumePath, declared: Option<u64>) -> Result<Delivered> {
    let data = match declared {
        Some(limit) => copy_to_end(&mut (&mut entry.reader).take(limit), &entry.path)?,
        None => copy_to_end(&mut entry.reader, &entry.path)?,
    };
    Ok(Delivered {
        path: entry.path,
        data,
        x: entry.x,
        via,
    })
}

/// The size a passthrough source declared when it was collected; only the
/// `CopyStopsAtDeclaredSize` regression copies no further than it (the engine reads to EOF).
fn declared_size(ctx: &Ctx, artifact: &Artifact) -> Option<u64> {
    if !crate::regressed!(CopyStopsAtDeclaredSize) {
        return None;
    }
    match &artifact.content {
        Content::File {
            source_path,
            passthrough: true,
            ..
        } => ctx.fs.metadata(source_path).ok().map(|m| m.len),
        _ => None,
    }
}

/// Re-packs each input as a tar on the fly, then unpacks it into the sandbox. Each entry is read
/// to EOF (so verified) before its header is written: a changed source fails with its own
/// error kind instead of producing a malformed tar.
fn repack_inputs(ctx: &Ctx, store: &Store, inputs: &[Artifact]) -> Result<Vec<Delivered>> {
    let mut delivered = Vec::new();
    for artifact in inputs {
        let mut packed = Vec::new();
        for mut entry in entries(ctx, store, artifact)? {
            let data = copy_to_end(&mut entry.reader, &entry.path)?;
            packed.push(PackEntry {
                path: entry.path,
                x: entry.x,
                data,
            });
        }
        let tar = pack(&packed)?;
        let origin = PathBuf::from(format!("<repack of {}>", artifact.group));
        for entry in unpack(&origin, &tar)? {
            delivered.push(Delivered {
                path: entry.path,
                data: entry.data,
                x: entry.x,
                via: ConsumePath::ViewRepack,
            });
        }
    }
    Ok(delivered)
}

/// Reads each entry with a plain `read_to_end`, or in ABI chunks across the plugin boundary.
fn read_inputs(
    ctx: &Ctx,
    store: &Store,
    inputs: &[Artifact],
    via: ConsumePath,
) -> Result<Vec<Delivered>> {
    let mut delivered = Vec::new();
    for artifact in inputs {
        for mut entry in entries(ctx, store, artifact)? {
            let data = if via == ConsumePath::AbiChunked {
                abi::read_chunked(&mut entry.reader, MAX_ENTRY_BYTES)
            } else {
                read_plain(&mut entry.reader)
            }
            .map_err(|e| EngineError::io(&entry.path, e))?;
            delivered.push(Delivered {
                path: entry.path,
                data,
                x: entry.x,
                via,
            });
        }
    }
    Ok(delivered)
}

/// Size of a plain reader's reads.
pub const PLAIN_READ: usize = 8 * 1024;

/// How an ordinary caller reads an entry: the sizes of its reads (cycled), whether it polls
/// with a zero-length read before each, and how many reads after EOF it makes to see that EOF
/// stays EOF. Every such caller retries a failed read once before giving up.
#[derive(Clone, Copy, Debug)]
pub struct Habits {
    /// Read sizes, cycled (none zero).
    pub sizes: &'static [usize],
    /// A zero-length read before every read.
    pub poll: bool,
    /// Reads after the first EOF, each of which must return nothing.
    pub after_eof: usize,
}

/// The plain reader's habits: 8 KiB reads, each after a zero-length poll.
pub const PLAIN: Habits = Habits {
    sizes: &[PLAIN_READ],
    poll: true,
    after_eof: 0,
};

/// A plain reader as ordinary callers write one: it polls with a zero-length read before each
/// read and retries a failed read once before giving up. Against a correct verifying reader
/// both habits are harmless; against heph's (early verification on zero-length reads, a retry
/// after a failed EOF that sees success) they are exactly how wrong bytes get through.
pub fn read_plain(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    read_like(reader, &PLAIN, MAX_ENTRY_BYTES)
}

/// Reads to EOF with `habits`, refusing more than `max` bytes.
pub fn read_like(reader: &mut dyn Read, habits: &Habits, max: u64) -> io::Result<Vec<u8>> {
    assert!(
        habits.sizes.iter().all(|&s| s > 0),
        "read sizes are positive"
    );
    let widest = habits.sizes.iter().copied().max().unwrap_or(1);
    // This thread's scratch buffer: a zeroed buffer per read was a twentieth of a schedule.
    crate::hash::with_scratch(widest, |buf| read_like_with(reader, habits, max, buf))
}

/// [`read_like`] with `buf` (as wide as the widest read) to read into.
fn read_like_with(
    reader: &mut dyn Read,
    habits: &Habits,
    max: u64,
    buf: &mut [u8],
) -> io::Result<Vec<u8>> {
    debug_assert!(habits.sizes.iter().all(|&s| s <= buf.len()));
    let mut out = Vec::new();
    let mut retried = false;
    let mut interrupts = crate::retry::Interrupts::new();
    for step in 0usize.. {
        if habits.poll {
            let polled = reader.read(&mut [])?;
            debug_assert_eq!(polled, 0, "a zero-length read delivers nothing");
        }
        let size = habits.sizes[step % habits.sizes.len()];
        match reader.read(&mut buf[..size]) {
            Ok(0) => break,
            Ok(n) => {
                interrupts.progressed();
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => interrupts.retry(e)?,
            Err(_) if !retried => retried = true,
            Err(e) => return Err(e),
        }
        if out.len() as u64 > max {
            return Err(io::Error::other(format!("entry exceeds {max} bytes")));
        }
    }
    for _ in 0..habits.after_eof {
        if reader.read(&mut buf[..1])? != 0 {
            return Err(io::Error::other("a read after EOF returned data"));
        }
    }
    Ok(out)
}

fn write_entry(ctx: &Ctx, sandbox: &Path, item: &Delivered) -> Result<()> {
    crate::cache::tarball::check_out_path(&item.path)?;
    let dest = sandbox.join(&item.path);
    if let Some(parent) = dest.parent() {
        ctx.fs
            .create_dir_all(parent)
            .map_err(|e| EngineError::io(parent, e))?;
    }
    let mut file = ctx
        .fs
        .create(&dest)
        .map_err(|e| EngineError::io(&dest, e))?;
    file.write_all(&item.data)
        .and_then(|_| file.flush())
        .map_err(|e| EngineError::io(&dest, e))?;
    // The mode is set both ways: `create` keeps the mode of a file it truncates.
    if !item.x && crate::regressed!(PluginSandboxReused) {
        return Ok(());
    }
    const MODES: [u32; 2] = [0o644, 0o755];
    let index = usize::from(item.x) + usize::from(item.x && crate::regressed!(ModeTableOffByOne));
    ctx.fs
        .set_mode(&dest, MODES[index])
        .map_err(|e| EngineError::io(&dest, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripted::Scripted;

    #[test]
    fn copies_retry_interrupted_reads() {
        use io::ErrorKind::Interrupted;
        let script = vec![Err(Interrupted), Ok(3), Err(Interrupted), Ok(3), Ok(4)];
        let copied = copy_to_end(&mut Scripted(script), Path::new("f")).unwrap();
        assert_eq!(copied, b"xxxxxxxxxx");
    }

    #[test]
    fn plain_reader_retries_interrupts_always_and_one_failure_once() {
        use io::ErrorKind::{Interrupted, Other};
        let check = |script: Vec<Result<usize, io::ErrorKind>>, expected: Result<usize, ()>| {
            let got = read_plain(&mut Scripted(script.clone()));
            assert_eq!(got.map(|v| v.len()).map_err(|_| ()), expected, "{script:?}");
        };
        check(vec![Ok(3), Ok(4)], Ok(7));
        check(vec![Err(Interrupted), Err(Interrupted), Ok(2)], Ok(2));
        check(vec![Ok(1), Err(Other), Ok(2)], Ok(3));
        check(vec![Err(Other), Err(Interrupted), Ok(2)], Ok(2));
        check(vec![Err(Other), Ok(1), Err(Other), Ok(2)], Err(()));
        check(vec![Err(Other), Err(Other), Ok(2)], Err(()));
    }

    #[test]
    fn plain_reader_limit_is_inclusive() {
        let read = |max| read_like(&mut Scripted(vec![Ok(4), Ok(4), Ok(2)]), &PLAIN, max);
        assert_eq!(read(10).unwrap().len(), 10, "exactly the limit is allowed");
        let err = read(9).unwrap_err();
        assert_eq!(err.to_string(), "entry exceeds 9 bytes");
    }

    #[test]
    fn copy_limit_is_inclusive() {
        let data = b"0123456789";
        let copy = |max| copy_with(&mut &data[..], Path::new("src/f"), &mut [0u8; 4], max);
        assert_eq!(copy(10).unwrap(), data, "exactly the limit is allowed");
        let err = copy(9).unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::Limit {
                    got: 10,
                    max: 9,
                    ..
                }
            ),
            "{err}"
        );
    }
}
