//! A scripted reader for unit tests of the engine's read loops (hashing, copies, plain and ABI
//! reads): each non-empty read answers the next step of a script.

use std::io::{self, Read};

/// Answers non-empty reads from a script: a failure of that kind, or up to that many bytes of
/// `b'x'`. Zero-length reads always succeed; an exhausted script is EOF.
pub(crate) struct Scripted(pub(crate) Vec<Result<usize, io::ErrorKind>>);

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.0.is_empty() {
            return Ok(0);
        }
        match self.0.remove(0) {
            Ok(n) => {
                let n = n.min(buf.len());
                buf[..n].fill(b'x');
                Ok(n)
            }
            Err(kind) => Err(io::Error::from(kind)),
        }
    }
}
