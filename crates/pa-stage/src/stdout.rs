//! Standard output of the command-line tools. A reader that stops early (`pa-detect ... | head
//! -1`) ends the tool quietly with exit 0, or, for a tool whose exit code is a verdict (a run's
//! status, a verification, a comparison), with that verdict ([`verdict`]); any other write
//! failure (a full disk behind `> /dev/full`) is an error that names standard output, and the
//! tool exits 20. Nothing panics.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Buffered, locked standard output that remembers whether its reader went away.
pub struct Stdout {
    inner: BufWriter<StdoutLock<'static>>,
}

/// The tool's standard output. Call [`Write::flush`] at the end: a write error only shows there
/// for output smaller than the buffer.
pub fn stdout() -> Stdout {
    Stdout {
        inner: BufWriter::new(io::stdout().lock()),
    }
}

/// Remembers a closed pipe; any other failure is said to be standard output's.
fn note(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CLOSED.store(true, Ordering::Relaxed);
        return e;
    }
    io::Error::new(e.kind(), format!("writing to standard output: {e}"))
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(note)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(note)
    }
}

/// Whether a write to [`stdout`] failed because the reader closed the pipe.
pub fn stdout_closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// The exit code of a tool whose exit code is a verdict (`code`, decided before its report was
/// written) once the report has been `written`: the verdict when the report was written or when
/// only its reader went away (`pa-sign verify … | grep -q …` must not turn a failed
/// verification into exit 0), else the write error.
pub fn verdict(code: i32, written: io::Result<()>) -> io::Result<i32> {
    verdict_given(code, written, stdout_closed())
}

fn verdict_given(code: i32, written: io::Result<()>, closed: bool) -> io::Result<i32> {
    match written {
        Ok(()) => Ok(code),
        Err(_) if closed => Ok(code),
        Err(e) => Err(e),
    }
}

/// The end of a tool that failed with `message`: exit 0 without a word when the failure is
/// only that the reader of standard output went away, else `<tool>: error: <message>` on
/// standard error and exit 20.
pub fn exit_on_error(tool: &str, message: &str) -> ! {
    if stdout_closed() {
        std::process::exit(0);
    }
    let _ = writeln!(io::stderr(), "{tool}: error: {message}");
    std::process::exit(20);
}

#[cfg(test)]
mod tests {
    use super::verdict_given;
    use std::io;

    #[test]
    fn a_verdict_survives_a_closed_pipe_but_not_a_full_disk() {
        let pipe = || Err(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(verdict_given(20, Ok(()), false).unwrap(), 20);
        assert_eq!(verdict_given(20, pipe(), true).unwrap(), 20);
        assert_eq!(verdict_given(10, pipe(), true).unwrap(), 10);
        let full = Err(io::Error::from(io::ErrorKind::StorageFull));
        assert!(verdict_given(0, full, false).is_err());
    }
}
