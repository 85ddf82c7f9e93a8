//! What every reader shares. A [`Reader`] is a [`Base`] (file name, ordinal, counters), the
//! state of one [`Format`] and that format's input ([`Units`]: lines, JSON values, blocks,
//! EVTX chunks). The format only says what to do with a unit of input ([`Format::take`]) and
//! what is ready to be yielded ([`Format::pop`]); `Reader` drives the input and gives `open`,
//! `from_reader`, the [`Iterator`] and the [`SourceReader`] impl, once for every format.
//!
//! The module is private: its items are `pub` only because the public reader aliases
//! (`AuditdReader = Reader<Auditd>`, ...) name them.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::counters::Counters;
use crate::jsonsplit::{JsonSplitter, Piece};
use crate::lines::{BoundedLines, Line};
use crate::record::{Provenance, SourceRecord};
use crate::{ReadError, SourceFormat, SourceReader};

/// What a reader module needs: `use crate::base::prelude::*`.
pub(crate) mod prelude {
    pub(crate) use super::{Base, DynRead, Format, FromRead, LineInput, Reader, Units};
    pub(crate) use crate::record::{SourceRecord, SourceType};
    pub(crate) use crate::{ReadError, SourceFormat};
    // Named by the readers' unit tests (through `use super::*`).
    #[cfg(test)]
    pub(crate) use crate::{Counters, SourceReader};
}

/// Any input.
pub type DynRead = Box<dyn Read + Send>;

/// `input` behind a 64 KiB buffer.
pub(crate) fn buffered(input: DynRead) -> BufReader<DynRead> {
    BufReader::with_capacity(1 << 16, input)
}

/// The input of a line format.
pub type LineInput = BoundedLines<BufReader<DynRead>>;

/// The lines of `input`, each at most `max` bytes.
pub(crate) fn lines(input: DynRead, max: usize) -> LineInput {
    BoundedLines::new(buffered(input), max)
}

/// Open `path`; the file name is `path` as given.
pub(crate) fn open_file(path: &Path) -> Result<(String, File), ReadError> {
    let file = path.display().to_string();
    match File::open(path) {
        Ok(f) => Ok((file, f)),
        Err(source) => Err(ReadError::Io { file, source }),
    }
}

/// The bookkeeping every reader keeps besides its format's state.
pub struct Base {
    /// The file, as given (names it in provenance and errors).
    pub(crate) file: String,
    /// The ordinal of the next unit (record, value, row, event) of the file.
    pub(crate) ordinal: u64,
    /// The counters so far.
    pub(crate) counters: Counters,
}

impl Base {
    /// Count one unit as read and give it the next ordinal.
    pub(crate) fn next_ordinal(&mut self) -> u64 {
        self.counters.read();
        self.ordinal += 1;
        self.ordinal - 1
    }

    /// Count one unit as read and dropped (it takes an ordinal).
    pub(crate) fn drop_unit(&mut self, reason: &str, detail: String) {
        self.next_ordinal();
        self.counters.drop_record(reason, detail);
    }

    /// Count `n` units as read and dropped (they take `n` ordinals).
    pub(crate) fn drop_many(&mut self, reason: &str, n: u64, detail: String) {
        self.counters.drop_many(reason, n, detail);
        self.ordinal += n;
    }

    /// The provenance of the unit numbered `ordinal`.
    pub(crate) fn provenance(
        &self,
        ordinal: u64,
        offset: Option<u64>,
        record_id: Option<u64>,
    ) -> Provenance {
        Provenance {
            file: self.file.clone(),
            offset,
            ordinal,
            record_id,
        }
    }
}

/// An input read one unit after another.
pub trait Units {
    /// One unit.
    type Unit;
    /// The next unit, `None` at the end (and after an error).
    fn next_unit(&mut self) -> Option<io::Result<Self::Unit>>;
}

impl<R: BufRead> Units for BoundedLines<R> {
    type Unit = Line;
    fn next_unit(&mut self) -> Option<io::Result<Line>> {
        self.next_line()
    }
}

impl<R: BufRead> Units for JsonSplitter<R> {
    type Unit = Piece;
    fn next_unit(&mut self) -> Option<io::Result<Piece>> {
        self.next_piece()
    }
}

/// The per-format half of a [`Reader`].
pub trait Format: Sized {
    /// The format being read.
    const FORMAT: SourceFormat;
    /// Its input.
    type Input: Units;
    /// The next record from what was taken so far (units dropped on the way are counted),
    /// `None` when more input is needed (or, once the input ended, when there is no more).
    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord>;
    /// Take one unit of input.
    fn take(&mut self, base: &mut Base, unit: <Self::Input as Units>::Unit);
    /// The input ended, with an I/O error when `failed`; [`Format::pop`] is still called after.
    fn end(&mut self, _base: &mut Base, _failed: bool) {}
}

/// A format that reads any byte stream and starts without reading it.
pub trait FromRead: Format {
    /// The initial state and the input.
    fn start(input: DynRead) -> (Self, Self::Input);
}

/// A streaming reader of one file: a [`SourceReader`] for every [`Format`].
pub struct Reader<F: Format> {
    base: Base,
    format: F,
    input: F::Input,
    done: bool,
}

impl<F: Format> Reader<F> {
    /// A reader of `file` in state `format` reading `input`.
    pub(crate) fn new(file: String, format: F, input: F::Input) -> Self {
        Reader {
            base: Base {
                file,
                ordinal: 0,
                counters: Counters::default(),
            },
            format,
            input,
            done: false,
        }
    }
}

impl<F: FromRead> Reader<F> {
    /// Open a file.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let (file, f) = open_file(path)?;
        Ok(Self::from_reader(file, Box::new(f)))
    }

    /// Read from any reader; `file` names it in provenance and errors.
    pub fn from_reader(file: String, input: DynRead) -> Self {
        let (format, input) = F::start(input);
        Self::new(file, format, input)
    }
}

impl<F: Format> Iterator for Reader<F> {
    type Item = Result<SourceRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.format.pop(&mut self.base) {
                return Some(Ok(r));
            }
            if self.done {
                return None;
            }
            match self.input.next_unit() {
                Some(Ok(unit)) => self.format.take(&mut self.base, unit),
                None => {
                    self.done = true;
                    self.format.end(&mut self.base, false);
                }
                Some(Err(source)) => {
                    self.done = true;
                    self.format.end(&mut self.base, true);
                    return Some(Err(ReadError::Io {
                        file: self.base.file.clone(),
                        source,
                    }));
                }
            }
        }
    }
}

impl<F: Format> SourceReader for Reader<F> {
    fn counters(&self) -> &Counters {
        &self.base.counters
    }
    fn format(&self) -> SourceFormat {
        F::FORMAT
    }
    fn file(&self) -> &str {
        &self.base.file
    }
}
