//! Standard output of the command-line tools. A reader that stops early (`pa-detect ... | head
//! -1`) ends the tool quietly with exit 0; any other write failure (a full disk behind
//! `> /dev/full`) is an error that names standard output, and the tool exits 20. Nothing panics.

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
