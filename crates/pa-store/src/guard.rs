//! Decoding untrusted Parquet without trusting the decoder not to panic.
//!
//! The `parquet` crate returns errors for most corruptions, but a few still reach an `assert!`
//! or a slice index deep in its bit-unpacking code (seen: "offset + len out of bounds" from
//! `arrow-buffer` on a corrupt definition-level run). A bundle file is input, so a corrupt one
//! must end as an error naming the file, never as a crash. [`decoding`] runs one decoder call
//! under `catch_unwind` and turns a panic into [`StoreError::Parquet`]; while it runs, the
//! process panic hook stays quiet on this thread, so no "panicked at" banner reaches the user
//! for what is an input error. Panics elsewhere still reach the hook installed before.

use crate::StoreError;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Wrap the current panic hook once so that it stays silent on a thread inside [`decoding`].
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Run one decoder call on `path`'s bytes; a panic inside becomes a Parquet error naming
/// `path`. The decoder's state is unspecified after such an error: callers drop it.
pub(crate) fn decoding<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    install_quiet_hook();
    let was = QUIET.with(|q| q.replace(true));
    let got = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    got.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown fault".into());
        Err(StoreError::parquet(
            path,
            format!("corrupt Parquet data (the decoder gave up: {msg})"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_file() {
        let p = Path::new("/bundle/part-0000.parquet");
        let e = decoding::<()>(p, || panic!("offset + len out of bounds")).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("/bundle/part-0000.parquet"), "{s}");
        assert!(s.contains("offset + len out of bounds"), "{s}");
        // The thread is loud again afterwards, and results pass through untouched.
        assert!(!QUIET.with(Cell::get));
        assert_eq!(decoding(p, || Ok(7)).unwrap(), 7);
        let formatted = decoding::<()>(p, || panic!("{} {}", "bad", 3)).unwrap_err();
        assert!(formatted.to_string().contains("bad 3"));
    }
}
