//! A line reader with a per-line memory bound: an over-long line is skipped (reported, not kept).

use std::io::{self, BufRead};

/// One line read by [`BoundedLines`].
#[derive(Debug)]
pub struct Line {
    /// Byte offset of the line start in the stream.
    pub offset: u64,
    /// The line without its `\n` (and without a trailing `\r`); empty when `too_long`.
    pub bytes: Vec<u8>,
    /// The line was longer than the bound; its bytes were discarded.
    pub too_long: bool,
}

impl Line {
    /// Nothing but white space (an over-long line is not blank).
    pub fn is_blank(&self) -> bool {
        !self.too_long && self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

/// Reads lines, never holding more than `max` bytes of one line.
pub struct BoundedLines<R> {
    reader: R,
    offset: u64,
    max: usize,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        BoundedLines {
            reader,
            offset: 0,
            max,
            done: false,
        }
    }

    /// The next line, `None` at end of input.
    pub fn next_line(&mut self) -> Option<io::Result<Line>> {
        if self.done {
            return None;
        }
        let start = self.offset;
        let mut bytes = Vec::new();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if buf.is_empty() {
                self.done = true;
                if !saw_any {
                    return None;
                }
                break;
            }
            saw_any = true;
            let (chunk, found) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], Some(i)),
                None => (buf, None),
            };
            if !too_long {
                if bytes.len() + chunk.len() > self.max {
                    too_long = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(chunk);
                }
            }
            let used = found.map_or(buf.len(), |i| i + 1);
            self.reader.consume(used);
            self.offset += used as u64;
            if found.is_some() {
                break;
            }
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Some(Ok(Line {
            offset: start,
            bytes,
            too_long,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_lines() {
        let data = b"short\r\nthis line is too long\nok";
        let mut l = BoundedLines::new(io::BufReader::with_capacity(4, &data[..]), 8);
        let a = l.next_line().unwrap().unwrap();
        assert_eq!(
            (a.offset, a.bytes.as_slice(), a.too_long),
            (0, &b"short"[..], false)
        );
        let b = l.next_line().unwrap().unwrap();
        assert!(b.too_long && b.bytes.is_empty());
        assert_eq!(b.offset, 7);
        let c = l.next_line().unwrap().unwrap();
        assert_eq!(c.bytes, b"ok");
        assert!(l.next_line().is_none());
    }
}
