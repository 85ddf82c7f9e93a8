//! EVTX files: each record is rendered to XML by the `evtx` crate and parsed by
//! [`crate::winxml`], so every Windows source goes through one parser.
//!
//! Streaming: one 64 KiB chunk is decoded at a time. A record that fails to render or parse is
//! dropped and counted (`evtx_record_error`, or the `pa.win_event_xml.v1` reason code); a chunk
//! that cannot be read counts its records (from the chunk header's record-id range when
//! available) under `evtx_chunk_error`; a truncated trailing chunk counts under
//! `evtx_incomplete_chunk`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use ::evtx::err::EvtxError;
use ::evtx::{EvtxChunkData, EvtxParser, IntoIterChunks, ParserSettings};

use crate::base::open_file;
use crate::base::prelude::*;
use crate::windows::record_from_xml;

const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
/// More record slots than a 64 KiB chunk can hold: a guard against a record iterator that
/// keeps failing without advancing.
const MAX_RECORDS_PER_CHUNK: usize = 4096;

enum Pending {
    Xml {
        record_id: u64,
        xml: Vec<u8>,
    },
    Dropped {
        record_id: Option<u64>,
        reason: &'static str,
        detail: String,
    },
}

/// Streaming EVTX reader.
pub type EvtxReader = Reader<Evtx>;

/// The EVTX half of [`EvtxReader`]: the records of the chunks read, not yet yielded.
pub struct Evtx {
    settings: Arc<ParserSettings>,
    pending: VecDeque<Pending>,
    /// Records of a truncated trailing chunk, reported once the chunks are exhausted.
    trailing: Option<(u64, String)>,
}

impl Units for IntoIterChunks<File> {
    type Unit = Result<EvtxChunkData, EvtxError>;
    fn next_unit(&mut self) -> Option<io::Result<Self::Unit>> {
        self.next().map(Ok)
    }
}

impl EvtxReader {
    /// Open an EVTX file (fails if it cannot be opened or has no EVTX file header).
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let (file, mut f) = open_file(path)?;
        let io_err = |source| ReadError::Io {
            file: file.clone(),
            source,
        };
        let size = f.metadata().map_err(io_err)?.len();
        let trailing = trailing_chunk(&mut f, size).map_err(io_err)?;
        f.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let settings = ParserSettings::new().num_threads(1);
        let parser = EvtxParser::from_read_seek(f)
            .map_err(|e| ReadError::Format {
                file: file.clone(),
                format: SourceFormat::Evtx,
                detail: e.to_string(),
            })?
            .with_configuration(settings.clone());
        let state = Evtx {
            settings: Arc::new(settings),
            pending: VecDeque::new(),
            trailing,
        };
        Ok(Reader::new(file, state, parser.into_chunks()))
    }
}

/// If the file ends with a partial chunk, how many records its header announces (at least 1).
fn trailing_chunk(f: &mut File, size: u64) -> std::io::Result<Option<(u64, String)>> {
    if size <= FILE_HEADER_SIZE {
        return Ok(None);
    }
    let rest = (size - FILE_HEADER_SIZE) % CHUNK_SIZE;
    if rest == 0 {
        return Ok(None);
    }
    let start = size - rest;
    let mut n = 1;
    if rest >= 40 {
        let mut hdr = [0u8; 40];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut hdr)?;
        if &hdr[..8] == b"ElfChnk\0" {
            let le = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
            let (first, last) = (le(&hdr[24..32]), le(&hdr[32..40]));
            if last >= first && last - first < CHUNK_SIZE {
                n = last - first + 1;
            }
        }
    }
    Ok(Some((
        n,
        format!("file ends with a truncated chunk of {rest} bytes at offset {start}"),
    )))
}

impl Format for Evtx {
    const FORMAT: SourceFormat = SourceFormat::Evtx;
    type Input = IntoIterChunks<File>;

    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord> {
        while let Some(p) = self.pending.pop_front() {
            let ordinal = base.next_ordinal();
            match p {
                Pending::Dropped {
                    record_id,
                    reason,
                    detail,
                } => {
                    let id = record_id.map_or_else(String::new, |r| format!(" record {r}"));
                    base.counters
                        .drop_record(reason, format!("{}{id}: {detail}", base.file));
                }
                Pending::Xml { record_id, xml } => {
                    let prov = base.provenance(ordinal, None, Some(record_id));
                    match record_from_xml(&xml, prov) {
                        Ok(rec) => {
                            base.counters.kept();
                            return Some(rec);
                        }
                        Err(e) => base.counters.drop_record(
                            e.code(),
                            format!("{} record {record_id}: {e}", base.file),
                        ),
                    }
                }
            }
        }
        None
    }

    fn take(&mut self, base: &mut Base, chunk: Result<EvtxChunkData, EvtxError>) {
        let mut data = match chunk {
            Ok(d) => d,
            Err(e) => {
                self.pending.push_back(Pending::Dropped {
                    record_id: None,
                    reason: "evtx_chunk_error",
                    detail: e.to_string(),
                });
                return;
            }
        };
        let (first, last) = (
            data.header.first_event_record_id,
            data.header.last_event_record_id,
        );
        let mut parsed = match data.parse(Arc::clone(&self.settings)) {
            Ok(p) => p,
            Err(e) => {
                let n = if last >= first {
                    (last - first + 1).min(CHUNK_SIZE)
                } else {
                    1
                };
                base.drop_many("evtx_chunk_error", n, e.to_string());
                return;
            }
        };
        for record in parsed.iter().take(MAX_RECORDS_PER_CHUNK) {
            match record {
                Ok(r) => {
                    let record_id = r.event_record_id;
                    match r.into_xml_bytes() {
                        Ok(s) => self.pending.push_back(Pending::Xml {
                            record_id,
                            xml: s.data,
                        }),
                        Err(e) => self.pending.push_back(Pending::Dropped {
                            record_id: Some(record_id),
                            reason: "evtx_record_error",
                            detail: e.to_string(),
                        }),
                    }
                }
                Err(e) => self.pending.push_back(Pending::Dropped {
                    record_id: None,
                    reason: "evtx_record_error",
                    detail: e.to_string(),
                }),
            }
        }
    }

    fn end(&mut self, base: &mut Base, _failed: bool) {
        if let Some((n, detail)) = self.trailing.take() {
            let d = format!("{}: {detail}", base.file);
            base.drop_many("evtx_incomplete_chunk", n, d);
        }
    }
}
