//! Streaming splitter for JSON documents that hold many values: a sequence of (pretty-printed)
//! values, or one top-level array whose elements are the values. Only one value is held in
//! memory at a time (bounded); the split is structural (strings and escapes honoured), so a
//! value that fails to parse does not stop the stream.

use std::io::{self, BufRead};

/// One value's bytes, as found in the stream.
#[derive(Debug)]
pub enum Piece {
    /// A complete value and its byte offset.
    Value { offset: u64, bytes: Vec<u8> },
    /// A value longer than the bound (skipped), at this offset.
    TooLong { offset: u64 },
    /// Input ended inside a value (or the structure is broken), at this offset.
    Truncated { offset: u64 },
}

/// Splits a JSON stream into values (see the module docs).
pub struct JsonSplitter<R> {
    reader: R,
    offset: u64,
    max: usize,
    /// `Some(true)` inside the top-level array, `Some(false)` for a value sequence, `None`
    /// before the first token.
    in_array: Option<bool>,
    done: bool,
}

impl<R: BufRead> JsonSplitter<R> {
    pub fn new(reader: R, max: usize) -> Self {
        JsonSplitter {
            reader,
            offset: 0,
            max,
            in_array: None,
            done: false,
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.reader.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn bump(&mut self) {
        self.reader.consume(1);
        self.offset += 1;
    }

    /// Skip whitespace and, inside the top-level array, separators and the closing bracket.
    fn skip_separators(&mut self) -> io::Result<Option<u8>> {
        loop {
            let Some(b) = self.peek()? else {
                return Ok(None);
            };
            let sep = b.is_ascii_whitespace()
                || (self.in_array == Some(true) && (b == b',' || b == b']'))
                || b == 0xef
                || b == 0xbb
                || b == 0xbf;
            if !sep {
                return Ok(Some(b));
            }
            self.bump();
        }
    }

    /// The next value, `None` at the end.
    pub fn next_piece(&mut self) -> Option<io::Result<Piece>> {
        if self.done {
            return None;
        }
        match self.read_piece() {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn read_piece(&mut self) -> io::Result<Option<Piece>> {
        let Some(first) = self.skip_separators()? else {
            return Ok(None);
        };
        if self.in_array.is_none() {
            if first == b'[' {
                self.in_array = Some(true);
                self.bump();
                return self.read_piece();
            }
            self.in_array = Some(false);
        }
        let start = self.offset;
        let mut bytes = Vec::new();
        let mut too_long = false;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let Some(b) = self.peek()? else {
                let scalar = depth == 0
                    && !in_string
                    && !too_long
                    && !matches!(bytes.first(), None | Some(b'{') | Some(b'[') | Some(b'"'));
                return Ok(Some(if scalar {
                    Piece::Value {
                        offset: start,
                        bytes,
                    }
                } else {
                    Piece::Truncated { offset: start }
                }));
            };
            // A scalar at depth 0 ends at a delimiter.
            if depth == 0
                && !in_string
                && !bytes.is_empty()
                && !matches!(bytes.first(), Some(b'{') | Some(b'[') | Some(b'"'))
                && (b.is_ascii_whitespace() || b == b',' || b == b']')
            {
                break;
            }
            self.bump();
            if !too_long {
                if bytes.len() >= self.max {
                    too_long = true;
                    bytes = Vec::new();
                } else {
                    bytes.push(b);
                }
            }
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        break;
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return Ok(Some(Piece::Truncated { offset: start }));
                    }
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        Ok(Some(if too_long {
            Piece::TooLong { offset: start }
        } else {
            Piece::Value {
                offset: start,
                bytes,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str, max: usize) -> Vec<String> {
        let mut s = JsonSplitter::new(io::BufReader::with_capacity(3, input.as_bytes()), max);
        let mut out = Vec::new();
        while let Some(p) = s.next_piece() {
            out.push(match p.unwrap() {
                Piece::Value { offset, bytes } => {
                    format!("{offset}:{}", String::from_utf8(bytes).unwrap())
                }
                Piece::TooLong { offset } => format!("{offset}:too_long"),
                Piece::Truncated { offset } => format!("{offset}:truncated"),
            });
        }
        out
    }

    #[test]
    fn sequences_and_arrays() {
        assert_eq!(
            split("{\"a\":\"}\\\"\"}\n {\"b\":[1,{}]}", 100),
            ["0:{\"a\":\"}\\\"\"}", "13:{\"b\":[1,{}]}"]
        );
        assert_eq!(
            split(" [ {\"a\":1} , {\"b\":2}, 3 ]\n", 100),
            ["3:{\"a\":1}", "13:{\"b\":2}", "22:3"]
        );
        assert_eq!(
            split("[{\"a\":\"xxxxxxxx\"},{\"b\":1}]", 8),
            ["1:too_long", "18:{\"b\":1}"]
        );
        assert_eq!(
            split("{\"a\":1} {\"b\":", 100),
            ["0:{\"a\":1}", "8:truncated"]
        );
        assert!(split("  \n", 100).is_empty());
        assert_eq!(split("[1, 2]", 100), ["1:1", "4:2"]);
        assert_eq!(split("7", 100), ["0:7"]);
    }
}
