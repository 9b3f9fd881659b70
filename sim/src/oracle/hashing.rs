//! SPEC §1-2 computed independently of the engine: the oracle hashes with xxhash-rust, the
//! engine with twox-hash, so a hashing bug of the engine cannot hide itself.
//!
//! Architecture Invariant: nothing in the oracle calls the engine's hashing, verifying reader
//! or key computation; every expected hashout and hashin is computed here.

use std::path::Path;

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// `file_hashout` (SPEC §2): xxh3-64 of the content, then one byte for the exec bit, `{:x}`.
pub fn oracle_hashout(bytes: &[u8], x: bool) -> String {
    let mut state = Xxh3::new();
    state.update(bytes);
    state.update(&[u8::from(x)]);
    format!("{:x}", state.digest())
}

/// `hashin` (SPEC §1): xxh3-64 over the driver name, a zero byte, the definition bytes, then
/// the input hashouts sorted ascending and concatenated with no separator.
pub fn oracle_hashin(driver: &str, def: &[u8], inputs: &[&str]) -> String {
    let mut sorted = inputs.to_vec();
    sorted.sort_unstable();
    let mut state = Xxh3::new();
    state.update(driver.as_bytes());
    state.update(&[0]);
    state.update(def);
    for hashout in sorted {
        state.update(hashout.as_bytes());
    }
    format!("{:x}", state.digest())
}

/// The checksum of stored bytes (a cache tar, a manifest's JSON): xxh3-64, `{:x}`.
pub fn checksum(bytes: &[u8]) -> String {
    format!("{:x}", xxh3_64(bytes))
}

/// A View's hashout in our engine's design: a `hashin` of driver `view` over the relocation
/// prefix and the viewed artifacts' hashouts, so it changes whenever anything it shows does.
pub fn view_hashout(relocate: &Path, inner: &[&str]) -> String {
    oracle_hashin("view", relocate.to_string_lossy().as_bytes(), inner)
}

/// What the oracle remembers of some bytes and an exec bit to tell later whether they changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint {
    /// xxh3-64 of the bytes.
    pub digest: u64,
    /// Their length.
    pub len: u64,
    /// The exec bit.
    pub x: bool,
}

impl Fingerprint {
    /// The fingerprint of `bytes` with exec bit `x`.
    pub fn of(bytes: &[u8], x: bool) -> Self {
        Fingerprint {
            digest: xxh3_64(bytes),
            len: bytes.len() as u64,
            x,
        }
    }

    /// True when the bytes are the same (the exec bit aside).
    pub fn same_bytes(&self, other: &Fingerprint) -> bool {
        self.digest == other.digest && self.len == other.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_matches_the_spec_vectors() {
        assert_eq!(oracle_hashout(b"", false), "c44bdff4074eecdb");
        assert_eq!(oracle_hashout(b"", true), "e12ef9d2eb86ceeb");
        assert_eq!(oracle_hashout(b"hello world\n", true), "b71cc2b61479e8de");
        assert_eq!(oracle_hashout(b"file 3\n", false), "7a139b6ea8540c");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(oracle_hashout(&big, false), "c25fbb19f343cf66");
        assert_eq!(oracle_hashout(&big, true), "82a2c1fe43996d65");
        assert_eq!(
            oracle_hashin("bash", &[1, 2, 3], &["ccc", "aaa", "bbb"]),
            "49fb4d47cf278c4f"
        );
    }

    #[test]
    fn fingerprints_tell_bytes_and_exec_bit_apart() {
        let a = Fingerprint::of(b"abc", false);
        assert!(a.same_bytes(&Fingerprint::of(b"abc", true)));
        assert_ne!(a, Fingerprint::of(b"abc", true));
        assert!(!a.same_bytes(&Fingerprint::of(b"abd", false)));
    }
}
