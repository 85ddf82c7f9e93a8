//! Replicate a folder of EVTX files into a larger corpus of *distinct* records, for the
//! end-to-end benchmark (`cargo xtask bench e2e`).
//!
//! `evtx_replicate <in-dir> <out-dir> <copies>` writes every `.evtx` file under `<in-dir>`
//! `<copies>` times into `<out-dir>` (`c<k>/<relative path>`). Copy `k` (from 0) adds
//! `k × 1,000,000,000` to every record's ID: the record header's, the chunk header's first
//! and last record IDs, the file header's next record ID, and the `EventRecordID` substitution
//! of the record's template instance (what a reader shows as `System/EventRecordID`: the first
//! UInt64 substitution, the `System` element coming first in an event template, where the other
//! members are of other types; it need not equal the header's ID, an exported log renumbers
//! its records). Chunk and file checksums are recomputed, so
//! the copies are valid EVTX files any reader accepts. Events of different copies therefore
//! have different identities (host, channel, record ID, …) and are not deduplicated by the
//! normalized store: the corpus really is `<copies>` times larger. Copy 0 is byte-identical to
//! the input.
//!
//! It prints one line: files, records and records whose `EventRecordID` substitution was not
//! found (those keep their ID in every copy and collapse into one event when normalized).

use std::path::{Path, PathBuf};

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;
const CHUNK_HEADER: usize = 512;
const ID_STEP: u64 = 1_000_000_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, copies] = args.as_slice() else {
        eprintln!("usage: evtx_replicate <in-dir> <out-dir> <copies>");
        std::process::exit(2);
    };
    let copies: u64 = copies.parse().expect("copies: a number");
    let input = PathBuf::from(input);
    let files = pa_e2e::evtx_files(&input);
    let (mut records, mut unpatched) = (0u64, 0u64);
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let rel = f.strip_prefix(&input).expect("under the input");
        for k in 0..copies {
            let mut copy = bytes.clone();
            let tally = shift_ids(&mut copy, k * ID_STEP);
            if k == 0 {
                records += tally.records;
                unpatched += tally.unpatched;
            }
            let out = Path::new(output).join(format!("c{k:03}")).join(rel);
            std::fs::create_dir_all(out.parent().expect("a parent")).expect("create dir");
            std::fs::write(&out, &copy).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        }
    }
    println!(
        "evtx_replicate: {} file(s) × {copies} = {} file(s); {records} record(s) per copy, {} in all; {unpatched} record(s) per copy without an EventRecordID substitution",
        files.len(),
        files.len() as u64 * copies,
        records * copies
    );
}

#[derive(Default)]
struct Tally {
    records: u64,
    unpatched: u64,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn add_u64(b: &mut [u8], at: usize, delta: u64) {
    if let Some(v) = u64_at(b, at) {
        b[at..at + 8].copy_from_slice(&v.wrapping_add(delta).to_le_bytes());
    }
}

/// Shift every record ID of the file by `delta` and fix the checksums.
fn shift_ids(file: &mut [u8], delta: u64) -> Tally {
    let mut tally = Tally::default();
    if file.len() < FILE_HEADER || &file[..8] != b"ElfFile\0" {
        return tally;
    }
    let mut at = FILE_HEADER;
    while at + CHUNK <= file.len() {
        let chunk = &mut file[at..at + CHUNK];
        if &chunk[..8] == b"ElfChnk\0" {
            shift_chunk(chunk, delta, &mut tally);
        }
        at += CHUNK;
    }
    if delta != 0 {
        add_u64(file, 24, delta);
        let crc = crc32(&[&file[..120]]);
        file[124..128].copy_from_slice(&crc.to_le_bytes());
    }
    tally
}

fn shift_chunk(chunk: &mut [u8], delta: u64, tally: &mut Tally) {
    let free = u32_at(chunk, 48).unwrap_or(0) as usize;
    let free = free.clamp(CHUNK_HEADER, CHUNK);
    let mut at = CHUNK_HEADER;
    while at + 28 <= free && chunk[at..at + 4] == [0x2a, 0x2a, 0, 0] {
        let size = u32_at(chunk, at + 4).unwrap_or(0) as usize;
        if size < 28 || at + size > free {
            break;
        }
        tally.records += 1;
        if !shift_record_id_substitution(chunk, at, size, delta) {
            tally.unpatched += 1;
        }
        add_u64(chunk, at + 8, delta);
        at += size;
    }
    if delta != 0 {
        add_u64(chunk, 24, delta);
        add_u64(chunk, 32, delta);
        let events = crc32(&[&chunk[CHUNK_HEADER..free]]);
        chunk[52..56].copy_from_slice(&events.to_le_bytes());
        let header = crc32(&[&chunk[..120], &chunk[128..CHUNK_HEADER]]);
        chunk[124..128].copy_from_slice(&header.to_le_bytes());
    }
}

/// In the record at `rec` (`size` bytes), find the template instance's first UInt64
/// substitution and add `delta` to it. Offsets inside BinXML are relative to the chunk.
fn shift_record_id_substitution(chunk: &mut [u8], rec: usize, size: usize, delta: u64) -> bool {
    let end = rec + size - 4;
    let mut p = rec + 24;
    // Fragment header (0x0f, major, minor, flags), then the TemplateInstance token.
    if chunk.get(p) != Some(&0x0f) {
        return false;
    }
    p += 4;
    if chunk.get(p).map(|t| t & 0x0f) != Some(0x0c) {
        return false;
    }
    p += 1 + 1 + 4; // token, unknown byte, template id
    let Some(def) = u32_at(chunk, p) else {
        return false;
    };
    p += 4;
    if def as usize == p {
        // Definition inline: next offset (4), GUID (16), data size (4), data.
        let Some(data_size) = u32_at(chunk, p + 20) else {
            return false;
        };
        p += 24 + data_size as usize;
    }
    let Some(n) = u32_at(chunk, p) else {
        return false;
    };
    p += 4;
    let n = n as usize;
    if p + 4 * n > end {
        return false;
    }
    let mut value = p + 4 * n;
    let mut done = false;
    for i in 0..n {
        let d = p + 4 * i;
        let vsize = u16::from_le_bytes([chunk[d], chunk[d + 1]]) as usize;
        let vtype = chunk[d + 2];
        if value + vsize > end {
            return done;
        }
        // 0x0a: UInt64.
        if !done && vtype == 0x0a && vsize == 8 {
            add_u64(chunk, value, delta);
            done = true;
        }
        value += vsize;
    }
    done
}

/// CRC-32 (IEEE 802.3, reflected, as EVTX checksums use) over the concatenated parts.
fn crc32(parts: &[&[u8]]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc = table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
    }
    !crc
}
