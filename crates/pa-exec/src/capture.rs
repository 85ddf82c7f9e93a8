//! Bounded capture of a child's output stream.

use std::io::Read;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

/// The first bytes of an output stream and how long it really was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The bytes kept (at most the limit).
    pub bytes: Vec<u8>,
    /// The bytes the stream carried in all.
    pub total: u64,
}

impl Captured {
    /// More was written than kept.
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }

    /// The kept bytes as text (U+FFFD for invalid UTF-8, CRLF and CR as LF).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes)
            .replace("\r\n", "\n")
            .replace('\r', "\n")
    }
}

/// Split a first line `<prefix><number>\n` off a capture: (the number, the rest).
pub(crate) fn split_first_line(prefix: &str, c: &Captured) -> (Option<u32>, Captured) {
    let text = &c.bytes;
    if !text.starts_with(prefix.as_bytes()) {
        return (None, c.clone());
    }
    let Some(nl) = text.iter().position(|&b| b == b'\n') else {
        return (None, c.clone());
    };
    let n = std::str::from_utf8(&text[prefix.len()..nl])
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let rest = Captured {
        bytes: text[nl + 1..].to_vec(),
        total: c.total.saturating_sub(nl as u64 + 1),
    };
    (n, rest)
}

/// A thread reading one stream to its end, keeping at most `limit` bytes.
pub(crate) struct Reader {
    state: Arc<Mutex<Captured>>,
    done: mpsc::Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

impl Reader {
    pub(crate) fn spawn<R: Read + Send + 'static>(mut stream: R, limit: usize) -> Reader {
        let (tx, done) = mpsc::channel();
        let state = Arc::new(Mutex::new(Captured::default()));
        let shared = Arc::clone(&state);
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut out = shared.lock().unwrap_or_else(|p| p.into_inner());
                        out.total += n as u64;
                        let room = limit.saturating_sub(out.bytes.len());
                        out.bytes.extend_from_slice(&buf[..n.min(room)]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        Reader {
            state,
            done,
            handle: Some(handle),
        }
    }

    /// The capture once the stream closed, or, after `grace` without its end (a process that
    /// left the process group still holds the pipe), what was read so far; the thread is then
    /// left to end with the stream.
    pub(crate) fn finish(mut self, grace: Duration) -> Captured {
        if self.done.recv_timeout(grace).is_ok() {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Reader {
    /// What was read so far.
    pub(crate) fn peek(&self) -> Captured {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
