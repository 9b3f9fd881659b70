//! The verifying reader is stricter than heph's (SPEC §7): sticky failure, no early
//! verification on zero-length reads, recorded exec bit, failure message names path and hashes.

mod common;

use std::io::{ErrorKind, Read};
use std::path::Path;

use common::both;
use engine::hash::bytes_hashout;
use engine::passthrough::{VerifyState, VerifyingReader};
use engine::{Ctx, Event};

fn reader(world: &common::World, expected: &str, x: bool) -> VerifyingReader {
    let ctx = Ctx::new(world.fs.clone());
    VerifyingReader::new(
        world.fs.open(Path::new("f")).unwrap(),
        ctx,
        Path::new("f"),
        expected,
        x,
    )
}

#[test]
fn failure_is_sticky() {
    both(|world| {
        world.write("f", b"tampered");
        let mut r = reader(world, &bytes_hashout(b"original", false), false);
        let mut buf = [0u8; 64];
        assert_eq!(r.read(&mut buf).unwrap(), 8);
        let first = r.read(&mut buf).unwrap_err();
        assert_eq!(first.kind(), ErrorKind::InvalidData);
        for _ in 0..3 {
            let again = r.read(&mut buf).unwrap_err();
            assert_eq!(
                again.kind(),
                ErrorKind::InvalidData,
                "a retry must not see success"
            );
            assert_eq!(again.to_string(), first.to_string());
        }
        assert_eq!(
            r.read(&mut []).unwrap_err().kind(),
            ErrorKind::InvalidData,
            "even a zero-length read"
        );
        let message = first.to_string();
        assert!(
            message.contains(&bytes_hashout(b"tampered", false))
                && message.contains(&bytes_hashout(b"original", false)),
            "{message}"
        );
    });
}

#[test]
fn zero_length_read_never_verifies() {
    both(|world| {
        world.write("f", b"abcdef");
        let mut r = reader(world, &bytes_hashout(b"abcdef", false), false);
        assert_eq!(r.read(&mut []).unwrap(), 0);
        assert_eq!(
            r.state(),
            &VerifyState::Reading,
            "no verification on a partial hash"
        );
        let mut two = [0u8; 2];
        r.read_exact(&mut two).unwrap();
        assert_eq!(r.read(&mut []).unwrap(), 0);
        assert_eq!(r.state(), &VerifyState::Reading);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"cdef");
        assert_eq!(r.state(), &VerifyState::Verified);
        assert_eq!(
            r.read(&mut [0u8; 4]).unwrap(),
            0,
            "reads after success stay at EOF"
        );
    });
}

#[test]
fn uses_the_recorded_exec_bit() {
    both(|world| {
        world.write("f", b"script");
        world.fs.set_mode(Path::new("f"), 0o755).unwrap();
        let mut ok = reader(world, &bytes_hashout(b"script", false), false);
        ok.read_to_end(&mut Vec::new()).unwrap();
        let mut bad = reader(world, &bytes_hashout(b"script", false), true);
        assert_eq!(
            bad.read_to_end(&mut Vec::new()).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
    });
}

#[test]
fn emits_read_and_verify_events_in_order() {
    both(|world| {
        world.write("f", &vec![1u8; 100_000]);
        let ctx = Ctx::new(world.fs.clone());
        let mut r = VerifyingReader::new(
            world.fs.open(Path::new("f")).unwrap(),
            ctx.clone(),
            Path::new("f"),
            &bytes_hashout(&[1u8; 100_000], false),
            false,
        );
        let mut buf = vec![0u8; 64 * 1024];
        while r.read(&mut buf).unwrap() > 0 {}
        let events = ctx.trace.events();
        let names = common::event_names(&events);
        assert_eq!(names, ["read", "read", "verify_ok"]);
        assert!(
            matches!(
                events[1],
                Event::Read {
                    index: 1,
                    len: 34_464,
                    ..
                }
            ),
            "{:?}",
            events[1]
        );
    });
}
