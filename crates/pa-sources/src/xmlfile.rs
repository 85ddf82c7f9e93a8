//! Files of Windows event XML: one `<Event>`, a sequence of them (as `wevtutil qe /f:xml`
//! writes), or a sequence wrapped in `<Events>`. The file is split into single events as it is
//! read (never more than one event plus one read block in memory); each event goes through
//! [`crate::winxml`]. An event over the size limit is dropped (`xml_input_too_large`) and the
//! reader resynchronises on the next `</Event>`.

use std::io;

use memchr::memmem;

use crate::base::prelude::*;
use crate::windows::record_from_xml;
use crate::winxml::{self, MAX_INPUT_BYTES};

const BLOCK: usize = 64 * 1024;

/// Streaming reader of event XML files.
pub type XmlFileReader = Reader<XmlFile>;

/// The event XML half of [`XmlFileReader`]: the bytes read and not yet split into events.
#[derive(Default)]
pub struct XmlFile {
    buf: Vec<u8>,
    /// Absolute offset of `buf[0]`.
    offset: u64,
    eof: bool,
    skipping: bool,
}

/// An input read in blocks of at most 64 KiB.
pub struct Blocks(DynRead);

impl Units for Blocks {
    type Unit = Vec<u8>;
    fn next_unit(&mut self) -> Option<io::Result<Vec<u8>>> {
        let mut block = vec![0u8; BLOCK];
        let n = loop {
            match self.0.read(&mut block) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
            }
        };
        if n == 0 {
            return None;
        }
        block.truncate(n);
        Some(Ok(block))
    }
}

/// Where the next event lies in a buffer.
struct Segment {
    /// Start of the bytes handed to the parser.
    start: usize,
    /// Start of the `<Event` tag (provenance offset).
    event_start: usize,
    /// One past the end of the event.
    end: usize,
}

impl XmlFile {
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.offset += n as u64;
    }

    fn emit(
        &mut self,
        base: &mut Base,
        bytes_range: (usize, usize),
        event_start: usize,
    ) -> Option<SourceRecord> {
        let ordinal = base.next_ordinal();
        let at = self.offset + event_start as u64;
        let prov = base.provenance(ordinal, Some(at), None);
        match record_from_xml(&self.buf[bytes_range.0..bytes_range.1], prov) {
            Ok(r) => {
                base.counters.kept();
                Some(r)
            }
            Err(e) => {
                let d = format!("{} event at byte {at}: {e}", base.file);
                base.counters.drop_record(e.code(), d);
                None
            }
        }
    }
}

fn is_name_end(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/')
}

/// Find the start of a root `Event` element (`<Event` or `<prefix:Event`) at or after `from`.
/// Returns (tag start, qualified name).
fn find_event_start(buf: &[u8], from: usize) -> Option<(usize, Vec<u8>)> {
    let mut i = from;
    while let Some(rel) = memchr::memchr(b'<', &buf[i..]) {
        let lt = i + rel;
        let name_start = lt + 1;
        let name_len = buf[name_start..]
            .iter()
            .take_while(|&&b| !is_name_end(b))
            .count();
        if name_start + name_len >= buf.len() {
            return None; // the name may continue in the next block
        }
        let qname = &buf[name_start..name_start + name_len];
        let local = qname.rsplit(|&b| b == b':').next().unwrap_or(qname);
        if local == b"Event" {
            return Some((lt, qname.to_vec()));
        }
        i = lt + 1;
    }
    None
}

/// Find the end (one past `>`) of the start tag beginning at `lt`, honouring quotes.
/// Returns (end, self_closing).
fn find_tag_end(buf: &[u8], lt: usize) -> Option<(usize, bool)> {
    let mut quote: Option<u8> = None;
    for (k, &b) in buf.iter().enumerate().skip(lt + 1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some((k + 1, buf[k - 1] == b'/')),
            None => {}
        }
    }
    None
}

/// Find the end of `</qname>` (with optional whitespace before `>`) at or after `from`.
fn find_close(buf: &[u8], qname: &[u8], from: usize) -> Option<usize> {
    let mut pat = b"</".to_vec();
    pat.extend_from_slice(qname);
    let finder = memmem::Finder::new(&pat);
    let mut i = from;
    while let Some(rel) = finder.find(&buf[i..]) {
        let after = i + rel + pat.len();
        let ws = buf[after..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        match buf.get(after + ws) {
            Some(b'>') => return Some(after + ws + 1),
            Some(_) => i = after,
            None => return None,
        }
    }
    None
}

fn next_segment(buf: &[u8]) -> Option<Segment> {
    let (lt, qname) = find_event_start(buf, 0)?;
    let (tag_end, self_closing) = find_tag_end(buf, lt)?;
    let end = if self_closing {
        tag_end
    } else {
        find_close(buf, &qname, tag_end)?
    };
    // Markup declarations before the event (DOCTYPE, ENTITY) stay with it so that the parser
    // refuses them; a plain prolog or an `<Events>` wrapper is left out.
    let start = if memmem::find(&buf[..lt], b"<!DOCTYPE").is_some()
        || memmem::find(&buf[..lt], b"<!ENTITY").is_some()
    {
        0
    } else {
        lt
    };
    Some(Segment {
        start,
        event_start: lt,
        end,
    })
}

/// The bytes left after the last event are ignorable (whitespace, prolog, `</Events>`).
fn ignorable_tail(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let mut t = text.trim();
    loop {
        if t.is_empty() {
            return true;
        }
        if let Some(r) = t.strip_prefix("<?") {
            match r.find("?>") {
                Some(i) => t = r[i + 2..].trim_start(),
                None => return false,
            }
        } else if let Some(r) = t.strip_prefix("<!--") {
            match r.find("-->") {
                Some(i) => t = r[i + 3..].trim_start(),
                None => return false,
            }
        } else if t.starts_with("<Events") || t.starts_with("</Events") {
            match t.find('>') {
                Some(i) => t = t[i + 1..].trim_start(),
                None => return false,
            }
        } else {
            return false;
        }
    }
}

impl FromRead for XmlFile {
    fn start(input: DynRead) -> (Self, Self::Input) {
        (XmlFile::default(), Blocks(input))
    }
}

impl Format for XmlFile {
    const FORMAT: SourceFormat = SourceFormat::WinXml;
    type Input = Blocks;

    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord> {
        loop {
            if self.skipping {
                // Discard up to and including the next `Event>` that closes an element.
                let finder = memmem::Finder::new(b"Event>");
                let mut found = None;
                let mut i = 0;
                while let Some(rel) = finder.find(&self.buf[i..]) {
                    let at = i + rel;
                    let line_start = self.buf[..at].iter().rposition(|&b| b == b'<').unwrap_or(0);
                    if self.buf.get(line_start + 1) == Some(&b'/') {
                        found = Some(at + 6);
                        break;
                    }
                    i = at + 1;
                }
                match found {
                    Some(end) => {
                        self.consume(end);
                        self.skipping = false;
                    }
                    None => {
                        let keep = self.buf.len().min(64);
                        let drop = self.buf.len() - keep;
                        self.consume(drop);
                        if self.eof {
                            self.buf.clear();
                        }
                        return None;
                    }
                }
            }
            if let Some(seg) = next_segment(&self.buf) {
                let out = self.emit(base, (seg.start, seg.end), seg.event_start);
                self.consume(seg.end);
                if out.is_some() {
                    return out;
                }
                continue;
            }
            if self.buf.len() > MAX_INPUT_BYTES + BLOCK {
                base.drop_unit(
                    winxml::WinXmlErrorKind::InputTooLarge.code(),
                    format!(
                        "{} event at byte {}: larger than {MAX_INPUT_BYTES} bytes",
                        base.file, self.offset
                    ),
                );
                self.skipping = true;
                continue;
            }
            if self.eof {
                if self.buf.is_empty() || ignorable_tail(&self.buf) {
                    self.buf.clear();
                    return None;
                }
                let len = self.buf.len();
                let out = self.emit(base, (0, len), 0);
                self.buf.clear();
                return out;
            }
            return None;
        }
    }

    fn take(&mut self, _base: &mut Base, block: Vec<u8>) {
        self.buf.extend_from_slice(&block);
    }

    fn end(&mut self, _base: &mut Base, failed: bool) {
        // After an I/O error the partial event in the buffer is not parsed.
        self.eof = !failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: u32) -> String {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='P'/><EventID>{id}</EventID><TimeCreated SystemTime='2026-01-01T00:00:00Z'/><EventRecordID>{id}</EventRecordID><Channel>Security</Channel><Computer>H</Computer></System><EventData><Data Name='x'>a&gt;b</Data></EventData></Event>"
        )
    }

    fn read_all(data: Vec<u8>) -> (Vec<SourceRecord>, Counters) {
        let mut r = XmlFileReader::from_reader("mem".into(), Box::new(std::io::Cursor::new(data)));
        let recs: Vec<_> = r.by_ref().map(|x| x.unwrap()).collect();
        (recs, r.counters().clone())
    }

    #[test]
    fn splits_wrapped_sequence() {
        let doc = format!(
            "<?xml version='1.0'?>\n<Events>{}\n{}\n</Events>\n",
            ev(1),
            ev(2)
        );
        let (recs, c) = read_all(doc.into_bytes());
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].provenance.record_id, Some(2));
        assert_eq!(recs[0].fields["EventData"]["x"], "a>b");
        assert_eq!((c.read, c.kept), (2, 2));
    }

    #[test]
    fn doctype_stays_with_event() {
        let doc = format!(
            "<!DOCTYPE Event [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>{}",
            ev(1)
        );
        let (recs, c) = read_all(doc.into_bytes());
        assert!(recs.is_empty());
        assert_eq!(c.dropped.get("xml_external_entity_disallowed"), Some(&1));
    }

    #[test]
    fn oversized_event_is_dropped_and_reader_resyncs() {
        let mut doc = String::from("<Event><System>");
        doc.push_str(&"x".repeat(MAX_INPUT_BYTES + 1024));
        doc.push_str("</System></Event>");
        doc.push_str(&ev(5));
        let (recs, c) = read_all(doc.into_bytes());
        assert_eq!(c.dropped.get("xml_input_too_large"), Some(&1));
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].provenance.record_id, Some(5));
    }

    #[test]
    fn truncated_tail_is_counted() {
        let mut doc = ev(1);
        doc.push_str("<Event><System>");
        let (recs, c) = read_all(doc.into_bytes());
        assert_eq!(recs.len(), 1);
        assert_eq!(c.dropped.get("xml_not_well_formed"), Some(&1));
    }
}
