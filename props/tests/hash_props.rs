//! Laws of the hashing functions (SPEC §1-2): `file_hashout` is xxh3-64 of the content followed
//! by the exec byte, however the bytes are chunked and whichever file system holds them, and it
//! renders as unpadded lowercase hex; `hashin` ignores input order but sees every other change.

use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use engine::fs::{DiskFs, Fs, MemFs};
use engine::hash::{bytes_hashout, file_hashout, hash_reader, hashin, render, StreamHasher};
use proptest::collection::vec;
use proptest::prelude::*;

/// The oracle: one-shot xxh3-64 (seed 0) of content ++ [x], printed with `{:x}`.
fn oracle(content: &[u8], x: bool) -> String {
    let mut all = content.to_vec();
    all.push(u8::from(x));
    format!("{:x}", xxhash_rust::xxh3::xxh3_64(&all))
}

/// Contents that straddle the 64 KiB chunk boundary now and then.
fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..2048),
        1 => (0usize..3, any::<u8>()).prop_map(|(extra, seed)| {
            (0..(1 << 16) + extra * 7 - 3).map(|i| (i as u8) ^ seed).collect()
        }),
    ]
}

/// At most this many interruptions in a row before the scripted reader makes progress: a
/// script of only zeros would otherwise interrupt forever, and `hash_reader` rightly retries.
const MAX_SCRIPTED_INTERRUPTS: usize = 3;

/// A reader that hands out `content` in scripted read sizes (1-byte reads included) and
/// interrupts itself now and then (where the script says 0), as a slow or signalled file would;
/// after [`MAX_SCRIPTED_INTERRUPTS`] interruptions in a row it always reads.
struct Scripted<'a> {
    content: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
    interrupt: bool,
    interrupted_in_a_row: usize,
}

impl<'a> Scripted<'a> {
    fn new(content: &'a [u8], sizes: Vec<usize>, interrupt: bool) -> Self {
        assert!(!sizes.is_empty(), "a script needs at least one size");
        Scripted {
            content,
            sizes,
            next: 0,
            interrupt,
            interrupted_in_a_row: 0,
        }
    }
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        if size == 0 && self.interrupt && self.interrupted_in_a_row < MAX_SCRIPTED_INTERRUPTS {
            self.interrupted_in_a_row += 1;
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        self.interrupted_in_a_row = 0;
        let n = size.max(1).min(buf.len()).min(self.content.len());
        buf[..n].copy_from_slice(&self.content[..n]);
        self.content = &self.content[n..];
        Ok(n)
    }
}

proptest! {
    #![proptest_config(props::config("proptest-regressions/hash_props.txt"))]

    /// `file_hashout` on a real file equals the one-shot oracle.
    #[test]
    fn file_hashout_is_xxh3_of_content_then_x(data in content(), x: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        prop_assert_eq!(file_hashout(&path, x).unwrap(), oracle(&data, x));
        prop_assert_eq!(bytes_hashout(&data, x), oracle(&data, x));
    }

    /// Any split of the content into updates (empty and 1-byte ones included) gives the
    /// one-shot hash.
    #[test]
    fn chunking_never_changes_the_hashout(
        data in content(),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
        ones in 0usize..4,
        x: bool,
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut hasher = StreamHasher::new();
        let mut start = 0;
        for cut in cuts {
            hasher.update(&data[start..start]);
            // A few 1-byte updates right at the cut.
            let ones_end = (start + ones).min(cut);
            for i in start..ones_end {
                hasher.update(&data[i..i + 1]);
            }
            hasher.update(&data[ones_end..cut]);
            start = cut;
        }
        hasher.update(&data[start..]);
        prop_assert_eq!(hasher.len(), data.len() as u64);
        prop_assert_eq!(hasher.finish(x), oracle(&data, x));
    }

    /// Streaming through a reader that returns short, 1-byte and interrupted reads gives the
    /// same hash as the oracle.
    #[test]
    fn short_and_interrupted_reads_never_change_the_hashout(
        data in content(),
        sizes in vec(0usize..300, 1..16),
        interrupt: bool,
        x: bool,
    ) {
        let mut reader = Scripted::new(&data, sizes, interrupt);
        prop_assert_eq!(hash_reader(&mut reader, x).unwrap(), oracle(&data, x));
    }

    /// Every digest renders as lowercase hex of 1-16 characters, without leading zeros, that
    /// parses back to the digest.
    #[test]
    fn hashout_is_unpadded_lowercase_hex(digest in prop_oneof![any::<u64>(), 0u64..0x1000, Just(0u64)]) {
        let text = render(digest);
        prop_assert!((1..=16).contains(&text.len()), "{}", text);
        prop_assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", text);
        prop_assert!(text == "0" || !text.starts_with('0'), "{}", text);
        prop_assert_eq!(u64::from_str_radix(&text, 16).unwrap(), digest);
    }

    /// The same bytes and mode hash identically on MemFs and DiskFs, with `x` taken from the
    /// mode as heph takes it, and both agree with `file_hashout`.
    #[test]
    fn memfs_and_diskfs_agree(data in content(), mode in prop::sample::select(vec![0o644u32, 0o755, 0o700, 0o744, 0o654, 0o645, 0o600])) {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskFs::new(dir.path()).unwrap();
        let mem = MemFs::default();
        let path = Path::new("src/f.bin");
        let mut hashes = Vec::new();
        for fs in [&disk as &dyn Fs, &mem] {
            fs.write(path, &data).unwrap();
            fs.set_mode(path, mode).unwrap();
            let x = fs.metadata(path).unwrap().exec();
            prop_assert_eq!(x, mode & 0o111 != 0);
            hashes.push(hash_reader(&mut fs.open(path).unwrap(), x).unwrap());
        }
        let real = dir.path().join(path);
        prop_assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, mode);
        prop_assert_eq!(&hashes[0], &hashes[1]);
        prop_assert_eq!(&hashes[0], &file_hashout(&real, mode & 0o111 != 0).unwrap());
    }
}

/// The case that hung CI (issue 16): a script of only zeros with interruptions on. It is also
/// in `proptest-regressions/hash_props.txt`, replayed before every run.
#[test]
fn a_script_of_only_interruptions_still_makes_progress() {
    for data in [&b""[..], b"abc", &[7u8; 70_000]] {
        let mut reader = Scripted::new(data, vec![0, 0], true);
        assert_eq!(hash_reader(&mut reader, true).unwrap(), oracle(data, true));
    }
}

/// Hashouts as heph prints them: unpadded hex of a 64-bit digest.
fn hashout() -> impl Strategy<Value = String> {
    prop_oneof![any::<u64>(), 0u64..0x10000].prop_map(render)
}

fn driver() -> impl Strategy<Value = String> {
    "[a-z_]{1,10}"
}

proptest! {
    #![proptest_config(props::config("proptest-regressions/hash_props.txt"))]

    /// The order of input hashouts does not matter.
    #[test]
    fn hashin_ignores_input_order(
        driver in driver(),
        def in vec(any::<u8>(), 0..32),
        (inputs, shuffled) in vec(hashout(), 0..8).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        let a: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let b: Vec<&str> = shuffled.iter().map(String::as_str).collect();
        prop_assert_eq!(hashin(&driver, &def, &a), hashin(&driver, &def, &b));
    }

    /// The driver, the definition hash and every single input each change the key.
    #[test]
    fn hashin_sees_driver_def_and_every_input(
        drivers in (driver(), driver()).prop_filter("distinct drivers", |(a, b)| a != b),
        defs in (vec(any::<u8>(), 0..32), vec(any::<u8>(), 0..32)).prop_filter("distinct defs", |(a, b)| a != b),
        inputs in vec(hashout(), 1..8),
        which in any::<prop::sample::Index>(),
        replacement in hashout(),
    ) {
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let base = hashin(&drivers.0, &defs.0, &refs);
        prop_assert_ne!(&base, &hashin(&drivers.1, &defs.0, &refs), "driver");
        prop_assert_ne!(&base, &hashin(&drivers.0, &defs.1, &refs), "def hash");
        let i = which.index(inputs.len());
        prop_assume!(replacement != inputs[i]);
        let mut changed = refs.clone();
        changed[i] = &replacement;
        prop_assert_ne!(&base, &hashin(&drivers.0, &defs.0, &changed), "input {}", i);
        let mut dropped = refs.clone();
        dropped.remove(i);
        prop_assert_ne!(&base, &hashin(&drivers.0, &defs.0, &dropped), "input {} dropped", i);
    }
}
