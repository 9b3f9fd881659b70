//! Bounded retries of interrupted reads. `EINTR` is retried, as every caller of `read` must,
//! but a reader that answers `Interrupted` forever would spin its caller forever; TIGER_STYLE
//! puts a limit on every loop, so a run of interruptions without progress ends in an error.

use std::io;

/// At most this many `Interrupted` answers in a row, with no byte read between them. Real
/// signals interrupt a read a handful of times at most; a thousand in a row is a broken reader.
pub const MAX_INTERRUPTS_IN_A_ROW: u32 = 1_000;

/// Counts consecutive interruptions of one read loop.
#[derive(Debug, Default)]
pub struct Interrupts {
    in_a_row: u32,
}

impl Interrupts {
    /// A counter that has seen no interruption.
    pub fn new() -> Self {
        Self::default()
    }

    /// Called with a read error: `Ok(())` when the loop should retry (an `Interrupted` within
    /// the bound), else the error to return (the original one, or the bound's; callers name the
    /// path when they wrap it).
    pub fn retry(&mut self, e: io::Error) -> io::Result<()> {
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        self.in_a_row += 1;
        if self.in_a_row > MAX_INTERRUPTS_IN_A_ROW && !crate::regressed!(InterruptsUnbounded) {
            return Err(io::Error::other(format!(
                "read interrupted {} times in a row without progress",
                self.in_a_row
            )));
        }
        debug_assert!(
            self.in_a_row <= MAX_INTERRUPTS_IN_A_ROW || crate::regressed!(InterruptsUnbounded)
        );
        Ok(())
    }

    /// Called after a read that returned data (or EOF): the run of interruptions is over.
    pub fn progressed(&mut self) {
        self.in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupts_are_retried_up_to_the_bound_and_progress_resets_it() {
        let mut interrupts = Interrupts::new();
        let eintr = || io::Error::from(io::ErrorKind::Interrupted);
        for _ in 0..MAX_INTERRUPTS_IN_A_ROW {
            interrupts.retry(eintr()).unwrap();
        }
        interrupts.progressed();
        for _ in 0..MAX_INTERRUPTS_IN_A_ROW {
            interrupts.retry(eintr()).unwrap();
        }
        let err = interrupts.retry(eintr()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert!(
            err.to_string().contains("read interrupted 1001 times"),
            "{err}"
        );
        let other = interrupts.retry(io::ErrorKind::InvalidData.into());
        assert_eq!(other.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    /// A reader that is interrupted `n` times, then yields 3 bytes.
    fn interrupted(n: u32) -> crate::scripted::Scripted {
        let mut script = vec![Err(io::ErrorKind::Interrupted); n as usize];
        script.push(Ok(3));
        crate::scripted::Scripted(script)
    }

    #[test]
    fn every_read_loop_retries_up_to_the_bound_and_then_fails() {
        use std::path::Path;
        let max = MAX_INTERRUPTS_IN_A_ROW;
        let path = Path::new("src/f");
        type ReadLoop<'a> = &'a dyn Fn(u32) -> Result<usize, String>;
        let loops: [(&str, ReadLoop); 4] = [
            ("hash_reader", &|n| {
                crate::hash::hash_reader(&mut interrupted(n), false)
                    .map(|h| h.len())
                    .map_err(|e| e.to_string())
            }),
            ("copy_to_end", &|n| {
                crate::materialize::copy_to_end(&mut interrupted(n), path)
                    .map(|v| v.len())
                    .map_err(|e| e.to_string())
            }),
            ("read_plain", &|n| {
                crate::materialize::read_plain(&mut interrupted(n))
                    .map(|v| v.len())
                    .map_err(|e| e.to_string())
            }),
            ("read_chunked", &|n| {
                crate::abi::read_chunked(&mut interrupted(n), 1 << 20)
                    .map(|v| v.len())
                    .map_err(|e| e.to_string())
            }),
        ];
        for (name, read) in loops {
            assert!(read(max).is_ok(), "{name}: {max} interruptions are retried");
            let err = read(max + 1).expect_err(name);
            assert!(
                err.contains("interrupted 1001 times in a row"),
                "{name}: {err}"
            );
        }
    }

    /// An async reader interrupted `left` times, then yielding `data` in one read.
    struct AsyncInterrupted {
        left: u32,
        data: &'static [u8],
    }

    impl tokio::io::AsyncRead for AsyncInterrupted {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            if self.left > 0 {
                self.left -= 1;
                return std::task::Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
            }
            let data = std::mem::take(&mut self.data);
            buf.put_slice(data);
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn the_async_copy_is_bounded_too() {
        let copy = |left: u32| {
            let reader = AsyncInterrupted { left, data: b"abc" };
            let expected = crate::hash::bytes_hashout(b"abc", false);
            let mut sink = Vec::new();
            let path = std::path::Path::new("src/f");
            tokio_test::block_on(crate::asyncio::copy_verified(
                reader, &mut sink, path, &expected, false,
            ))
        };
        assert_eq!(copy(MAX_INTERRUPTS_IN_A_ROW).unwrap(), 3);
        let err = copy(MAX_INTERRUPTS_IN_A_ROW + 1).unwrap_err();
        assert!(err.to_string().contains("interrupted 1001 times"), "{err}");
    }
}
