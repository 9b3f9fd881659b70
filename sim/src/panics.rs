//! Panics are findings, never lost: [`catch`] runs a piece of a schedule under `catch_unwind`
//! and turns a panic of the engine (or of the oracle) into a message with its location, and the
//! process-wide hook installed here keeps such caught panics off stderr.
//!
//! Architecture Invariant: every schedule (campaign, exhaustive, chaos, mutants, replay) runs
//! under [`catch`], so an engine that panics is reported as `invariant: panic`, never as a
//! quiet worker thread that took its partial report with it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// At most this many bytes of a panic message are kept.
pub const MAX_PANIC_MESSAGE: usize = 2_000;

thread_local! {
    /// True while this thread runs under [`catch`] (or is a runtime thread of a schedule).
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// The last panic this thread captured: message and location.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the capturing hook once per process; panics outside [`catch`] still reach the
/// previous hook (and so stderr), as they would without the simulator.
pub fn install() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CAPTURING.with(Cell::get) {
                return previous(info);
            }
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let message = format!("{}{location}", bounded(payload_message(info.payload())));
            LAST.with(|last| *last.borrow_mut() = Some(message));
        }));
    });
}

/// Marks the calling thread as one whose panics are captured quietly (for the threads of a
/// schedule's tokio runtime, whose panics the engine reports as failed tasks).
pub fn quiet_thread() {
    install();
    CAPTURING.with(|c| c.set(true));
}

/// Runs `f`; a panic inside it becomes `Err(message at file:line)`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install();
    let was = CAPTURING.with(|c| c.replace(true));
    LAST.with(|last| last.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(was));
    result.map_err(|payload| {
        LAST.with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| bounded(payload_message(payload.as_ref())))
    })
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        return (*text).to_string();
    }
    if let Some(text) = payload.downcast_ref::<String>() {
        return text.clone();
    }
    "a panic with a non-string payload".to_string()
}

fn bounded(mut message: String) -> String {
    if message.len() > MAX_PANIC_MESSAGE {
        let mut end = MAX_PANIC_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    debug_assert!(message.len() <= MAX_PANIC_MESSAGE + '…'.len_utf8());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_with_a_location() {
        let err = catch(|| -> u32 { panic!("boom {}", 7) }).unwrap_err();
        assert!(err.starts_with("boom 7 at "), "{err}");
        assert!(err.contains("panics.rs:"), "{err}");
        assert_eq!(catch(|| 5).unwrap(), 5);
    }

    #[test]
    fn nested_catches_restore_the_capturing_flag() {
        let outer = catch(|| {
            let inner = catch(|| -> () { panic!("inner") });
            assert!(inner.unwrap_err().starts_with("inner"));
            assert!(
                CAPTURING.with(Cell::get),
                "still capturing inside the outer catch"
            );
            panic!("outer")
        });
        assert!(outer.unwrap_err().starts_with("outer"));
        assert!(!CAPTURING.with(Cell::get));
    }

    #[test]
    fn long_messages_are_bounded() {
        let err = catch(|| -> () { panic!("{}", "é".repeat(5_000)) }).unwrap_err();
        let (message, location) = err.split_once('…').expect("cut with an ellipsis");
        assert!(message.len() <= MAX_PANIC_MESSAGE, "{}", message.len());
        assert!(
            location.starts_with(" at ") && location.contains("panics.rs:"),
            "{location}"
        );
    }
}
