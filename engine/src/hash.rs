//! Hashing: the one streaming hasher behind `file_hashout`, the walker and the verifying reader.
//!
//! Architecture Invariant: every hashout in the engine is produced by [`StreamHasher`], so the
//! three places that hash file bytes cannot drift apart (SPEC §2).

use std::hash::Hasher;
use std::io::{self, Read};

use twox_hash::XxHash3_64;

/// heph reads files in 64 KiB chunks; the engine does the same everywhere it streams.
pub const CHUNK: usize = 64 * 1024;

/// Streams bytes into xxh3-64 (seed 0) and finishes with the exec byte.
///
/// twox-hash picks AVX2 at run time where the CPU has it (xxhash-rust fixes SSE2 at compile
/// time): twice the throughput on the verifying reader's hot path, the same digests.
#[derive(Clone)]
pub struct StreamHasher {
    state: XxHash3_64,
    bytes: u64,
}

impl Default for StreamHasher {
    fn default() -> Self {
        Self {
            state: XxHash3_64::with_seed(0),
            bytes: 0,
        }
    }
}

impl StreamHasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.state.write(bytes);
        self.bytes += bytes.len() as u64;
    }

    /// How many content bytes were fed so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// True when no content byte was fed yet.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Appends the exec byte and renders the digest as SPEC §2 says. Does not consume `self`,
    /// so a caller can finish, compare, and still know what it fed.
    pub fn finish(&self, x: bool) -> String {
        let mut state = self.state.clone();
        if !crate::regressed!(DropExecByte) {
            state.write(&[u8::from(x)]);
        }
        render(state.finish())
    }
}

/// Renders a 64-bit digest the way heph does: lowercase hex, not zero-padded.
pub fn render(digest: u64) -> String {
    if crate::regressed!(ZeroPaddedHashout) {
        return format!("{digest:016x}");
    }
    let text = format!("{digest:x}");
    debug_assert!(!text.is_empty() && text.len() <= 16);
    text
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The widest scratch buffer a thread keeps between calls.
pub const MAX_SCRATCH: usize = 4 * CHUNK;

/// Runs `f` with this thread's reusable [`CHUNK`]-sized buffer (zeroed once, not per call).
pub fn with_chunk_buffer<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    with_scratch(CHUNK, f)
}

/// Runs `f` with `len` bytes of this thread's reusable buffer (zeroed once when it grows, not
/// per call; at most [`MAX_SCRATCH`] is kept). Re-entrant or wider calls get a fresh buffer.
pub fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    assert!(len > 0, "a scratch buffer holds something");
    if len > MAX_SCRATCH {
        return f(&mut vec![0u8; len]);
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0u8; len]),
    })
}

/// Hashes everything `reader` yields, in [`CHUNK`]-sized reads, then the exec byte.
pub fn hash_reader(reader: &mut dyn Read, x: bool) -> io::Result<String> {
    with_chunk_buffer(|buf| hash_reader_with(reader, x, buf))
}

fn hash_reader_with(reader: &mut dyn Read, x: bool, buf: &mut [u8]) -> io::Result<String> {
    let mut hasher = StreamHasher::new();
    let mut interrupts = crate::retry::Interrupts::new();
    loop {
        match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                interrupts.progressed();
                hasher.update(&buf[..n]);
                if crate::regressed!(HashFirstChunkOnly) {
                    break;
                }
            }
            Err(e) => interrupts.retry(e)?,
        }
    }
    Ok(hasher.finish(x))
}

/// A checksum of stored bytes (a cache tar, a manifest): xxh3-64 rendered as a hashout, without
/// the exec byte, so damage is told from content.
pub fn checksum(bytes: &[u8]) -> String {
    let mut state = XxHash3_64::with_seed(0);
    state.write(bytes);
    render(state.finish())
}

/// Hashes in-memory bytes exactly as [`file_hashout`] would hash a file holding them.
pub fn bytes_hashout(bytes: &[u8], x: bool) -> String {
    let mut hasher = StreamHasher::new();
    hasher.update(bytes);
    hasher.finish(x)
}

/// SPEC §2: xxh3-64 over the file's content streamed in 64 KiB chunks, then one byte for `x`.
/// Works on the real file system, as heph's `hwalk::file_hashout` does.
#[cfg(any(test, feature = "test-support"))]
pub fn file_hashout(path: &std::path::Path, x: bool) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    hash_reader(&mut file, x)
}

/// SPEC §1: the cache key of a target. Sorts the input hashouts itself.
pub fn hashin(driver: &str, def_hash: &[u8], input_hashouts: &[&str]) -> String {
    let mut sorted: Vec<&str> = input_hashouts.to_vec();
    if !crate::regressed!(HashinUnsorted) {
        sorted.sort_unstable();
    }
    let mut state = XxHash3_64::with_seed(0);
    state.write(driver.as_bytes());
    state.write(&[0]);
    state.write(def_hash);
    for hashout in &sorted {
        state.write(hashout.as_bytes());
    }
    render(state.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripted::Scripted;
    use std::path::Path;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn check(content: &[u8], x: bool, expected: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, content).unwrap();
        assert_eq!(file_hashout(&path, x).unwrap(), expected, "file_hashout");
        assert_eq!(bytes_hashout(content, x), expected, "bytes_hashout");
    }

    #[test]
    fn spec_public_hash_values() {
        check(b"", false, "c44bdff4074eecdb");
        check(b"", true, "e12ef9d2eb86ceeb");
        check(b"hello world\n", false, "b126a4eb31dec7a5");
        check(b"hello world\n", true, "b71cc2b61479e8de");
        check(b"file 3\n", false, "7a139b6ea8540c");
        check(&pattern(200_000), false, "c25fbb19f343cf66");
        check(&pattern(200_000), true, "82a2c1fe43996d65");
    }

    #[test]
    fn hashin_golden_and_order_independent() {
        assert_eq!(
            hashin("bash", &[1, 2, 3], &["aaa", "bbb", "ccc"]),
            "49fb4d47cf278c4f"
        );
        assert_eq!(
            hashin("bash", &[1, 2, 3], &["ccc", "aaa", "bbb"]),
            "49fb4d47cf278c4f"
        );
        assert_ne!(
            hashin("bash", &[1, 2, 4], &["aaa", "bbb", "ccc"]),
            "49fb4d47cf278c4f"
        );
        assert_ne!(
            hashin("sh", &[1, 2, 3], &["aaa", "bbb", "ccc"]),
            "49fb4d47cf278c4f"
        );
    }

    #[test]
    fn hash_reader_retries_interrupted_reads_and_stops_at_any_other_error() {
        use io::ErrorKind::{Interrupted, InvalidData};
        let mut interrupted = Scripted(vec![Err(Interrupted), Ok(12)]);
        let expected = bytes_hashout(&[b'x'; 12], false);
        assert_eq!(hash_reader(&mut interrupted, false).unwrap(), expected);
        let mut failing = Scripted(vec![Err(InvalidData), Ok(12)]);
        let err = hash_reader(&mut failing, false).unwrap_err();
        assert_eq!(err.kind(), InvalidData);
    }

    #[test]
    fn stream_hasher_counts_what_it_was_fed() {
        let mut hasher = StreamHasher::new();
        assert!(hasher.is_empty());
        assert_eq!(hasher.len(), 0);
        hasher.update(&[]);
        assert!(hasher.is_empty(), "an empty update feeds nothing");
        hasher.update(b"abc");
        assert!(!hasher.is_empty());
        assert_eq!(hasher.len(), 3);
    }

    #[test]
    fn render_is_not_padded() {
        assert_eq!(render(0x7a139b6ea8540c), "7a139b6ea8540c");
        assert_eq!(render(0), "0");
        assert_eq!(render(u64::MAX), "ffffffffffffffff");
    }

    #[test]
    fn chunking_does_not_change_the_hash() {
        let data = pattern(3 * CHUNK + 17);
        let whole = bytes_hashout(&data, true);
        for split in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, data.len()] {
            let mut hasher = StreamHasher::new();
            hasher.update(&data[..split]);
            hasher.update(&[]);
            hasher.update(&data[split..]);
            assert_eq!(hasher.finish(true), whole, "split at {split}");
        }
        assert_eq!(hash_reader(&mut &data[..], true).unwrap(), whole);
    }

    #[test]
    fn missing_file_is_not_found() {
        let err = file_hashout(Path::new("/nonexistent/heph-sim/x"), false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
