//! `detections/detections.jsonl` in its order, in bounded memory: detection instances are kept
//! as (sort key, JCS line) pairs; past a byte budget the pairs are sorted and spilled to a run
//! file, and the runs are merged into the output at the end. The order is that of
//! [`DetectionInstance::sort_key`], ties in the order the instances were pushed (a stable sort),
//! whether or not anything was spilled.

use crate::DetectError;
use crate::instance::DetectionInstance;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Bytes of keys and lines held (as allocated) before a sorted run is spilled. At 1M events of
/// the replicated corpus the stage writes ~155k instances of ~1 KB each (~170 MB); at 100k,
/// ~16k. This keeps what it holds for them a small, fixed part of its footprint.
pub(crate) const SORT_BUDGET_BYTES: usize = 16 << 20;

/// Runs merged at once. When this many are spilled they are merged into one, so the merge
/// holds at most this many open files and read buffers however many instances there are.
const MAX_RUNS: usize = 64;

/// One instance: its sort key, its push order and its line (with the LF).
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    key: [String; 4],
    seq: u64,
    line: String,
}

impl Entry {
    /// Heap bytes held, with a word of allocator overhead per allocation.
    fn bytes(&self) -> usize {
        self.key.iter().map(|k| k.capacity() + 16).sum::<usize>()
            + self.line.capacity()
            + 16
            + std::mem::size_of::<Entry>()
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key).then(self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Detection instances on their way to `detections.jsonl`.
pub(crate) struct SortedInstances {
    spill_parent: PathBuf,
    spill_dir: Option<tempfile::TempDir>,
    budget: usize,
    chunk: Vec<Entry>,
    chunk_bytes: usize,
    runs: Vec<PathBuf>,
    /// Run files created so far (their names' numbers).
    created: usize,
    pushed: u64,
}

impl SortedInstances {
    /// Spilled runs go to a temporary directory inside `spill_parent`, created on the first
    /// spill and removed on drop.
    pub(crate) fn new(spill_parent: &Path, budget_bytes: usize) -> SortedInstances {
        SortedInstances {
            spill_parent: spill_parent.to_path_buf(),
            spill_dir: None,
            budget: budget_bytes.max(1),
            chunk: Vec::new(),
            chunk_bytes: 0,
            runs: Vec::new(),
            created: 0,
            pushed: 0,
        }
    }

    /// Add one instance.
    pub(crate) fn push(&mut self, i: &DetectionInstance) -> Result<(), DetectError> {
        let (a, b, c, d) = i.sort_key();
        let mut line = pa_canon::to_jsonl_line(i)?;
        // The writer grows its buffer by doubling: held for the sort, only the line counts.
        line.shrink_to_fit();
        let e = Entry {
            key: [a, b, c, d],
            seq: self.pushed,
            line,
        };
        self.pushed += 1;
        self.chunk_bytes += e.bytes();
        self.chunk.push(e);
        if self.chunk_bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill_error(path: &Path, error: std::io::Error) -> DetectError {
        DetectError::Spill {
            path: path.to_path_buf(),
            error,
        }
    }

    /// The directory of the spilled runs (created on first use).
    fn spill_dir(&mut self) -> Result<PathBuf, DetectError> {
        if let Some(d) = &self.spill_dir {
            return Ok(d.path().to_path_buf());
        }
        std::fs::create_dir_all(&self.spill_parent)
            .map_err(|e| Self::spill_error(&self.spill_parent, e))?;
        let d = tempfile::Builder::new()
            .prefix(".spill-detections-")
            .tempdir_in(&self.spill_parent)
            .map_err(|e| Self::spill_error(&self.spill_parent, e))?;
        let p = d.path().to_path_buf();
        self.spill_dir = Some(d);
        Ok(p)
    }

    /// A new run file's path (runs are numbered in creation order).
    fn next_run_path(&mut self, created: &mut usize) -> Result<PathBuf, DetectError> {
        let p = self.spill_dir()?.join(format!("run-{:06}", *created));
        *created += 1;
        Ok(p)
    }

    fn spill(&mut self) -> Result<(), DetectError> {
        self.chunk.sort_unstable();
        let mut created = self.created;
        let path = self.next_run_path(&mut created)?;
        self.created = created;
        let f = std::fs::File::create(&path).map_err(|e| Self::spill_error(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 16, f);
        for e in self.chunk.drain(..) {
            write_entry(&mut w, &e).map_err(|err| Self::spill_error(&path, err))?;
        }
        w.flush().map_err(|e| Self::spill_error(&path, e))?;
        self.chunk_bytes = 0;
        self.runs.push(path);
        if self.runs.len() >= MAX_RUNS {
            // Fold the runs into one (entries keep their push order numbers, so ties still
            // come out in push order).
            let mut created = self.created;
            let path = self.next_run_path(&mut created)?;
            self.created = created;
            let f = std::fs::File::create(&path).map_err(|e| Self::spill_error(&path, e))?;
            let mut w = BufWriter::with_capacity(1 << 16, f);
            let runs = std::mem::take(&mut self.runs);
            merge_runs(&runs, |e| {
                write_entry(&mut w, e).map_err(|err| Self::spill_error(&path, err))
            })?;
            w.flush().map_err(|e| Self::spill_error(&path, e))?;
            for r in &runs {
                std::fs::remove_file(r).map_err(|e| Self::spill_error(r, e))?;
            }
            self.runs.push(path);
        }
        Ok(())
    }

    /// Write every line, in order, to `out`; returns how many.
    pub(crate) fn finish(mut self, out: &mut dyn Write) -> Result<u64, DetectError> {
        if self.runs.is_empty() {
            self.chunk.sort_unstable();
            for e in &self.chunk {
                out.write_all(e.line.as_bytes())
                    .map_err(DetectError::Output)?;
            }
            return Ok(self.pushed);
        }
        if !self.chunk.is_empty() {
            self.spill()?;
        }
        let written = merge_runs(&self.runs, |e| {
            out.write_all(e.line.as_bytes())
                .map_err(DetectError::Output)
        })?;
        if written != self.pushed {
            return Err(Self::spill_error(
                &self.runs[0],
                std::io::Error::other(format!(
                    "the spilled runs hold {written} instance(s), {} were pushed",
                    self.pushed
                )),
            ));
        }
        Ok(written)
    }
}

/// Merge sorted runs, handing each entry in order to `sink`; returns how many.
fn merge_runs(
    runs: &[PathBuf],
    mut sink: impl FnMut(&Entry) -> Result<(), DetectError>,
) -> Result<u64, DetectError> {
    let mut readers = Vec::with_capacity(runs.len());
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (i, p) in runs.iter().enumerate() {
        let f = std::fs::File::open(p).map_err(|e| SortedInstances::spill_error(p, e))?;
        let mut r = BufReader::with_capacity(1 << 15, f);
        if let Some(e) = read_entry(&mut r).map_err(|e| SortedInstances::spill_error(p, e))? {
            heap.push(Reverse((e, i)));
        }
        readers.push(r);
    }
    let mut n = 0u64;
    while let Some(Reverse((e, i))) = heap.pop() {
        sink(&e)?;
        n += 1;
        let p = &runs[i];
        if let Some(next) =
            read_entry(&mut readers[i]).map_err(|e| SortedInstances::spill_error(p, e))?
        {
            heap.push(Reverse((next, i)));
        }
    }
    Ok(n)
}

fn write_bytes(w: &mut impl Write, b: &[u8]) -> std::io::Result<()> {
    let n = u32::try_from(b.len()).map_err(|_| std::io::Error::other("string over 4 GiB"))?;
    w.write_all(&n.to_le_bytes())?;
    w.write_all(b)
}

fn write_entry(w: &mut impl Write, e: &Entry) -> std::io::Result<()> {
    w.write_all(&e.seq.to_le_bytes())?;
    for k in &e.key {
        write_bytes(w, k.as_bytes())?;
    }
    write_bytes(w, e.line.as_bytes())
}

fn read_string(r: &mut impl Read) -> std::io::Result<String> {
    let mut n = [0u8; 4];
    r.read_exact(&mut n)?;
    let mut b = vec![0u8; u32::from_le_bytes(n) as usize];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The next entry of a run, `None` at its end.
fn read_entry(r: &mut impl BufRead) -> std::io::Result<Option<Entry>> {
    if r.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let mut seq = [0u8; 8];
    r.read_exact(&mut seq)?;
    let key = [
        read_string(r)?,
        read_string(r)?,
        read_string(r)?,
        read_string(r)?,
    ];
    let line = read_string(r)?;
    Ok(Some(Entry {
        key,
        seq: u64::from_le_bytes(seq),
        line,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::{InstanceExtensions, SigmaProvenance};

    fn inst(rule: &str, t: u32, ev: &str) -> DetectionInstance {
        DetectionInstance {
            rule_id: rule.into(),
            rule_title: format!("title of {rule}"),
            rule_source: "sigma".into(),
            rule_level: None,
            technique_ids: vec![],
            matched_event_ids: vec![ev.into()],
            first_seen_utc: Some(format!("2024-01-01T00:00:{:02}.000Z", t % 60)),
            last_seen_utc: Some(format!("2024-01-01T00:00:{:02}.000Z", t % 60)),
            run_id: None,
            scenario_id: None,
            correlation: None,
            extensions: InstanceExtensions {
                sigma: SigmaProvenance {
                    rule_file: format!("{rule}.yml"),
                    rule_line: 1,
                    rule_sha256: "sha256:00".into(),
                },
                bridge: None,
            },
        }
    }

    /// What the file held when every instance was kept and stably sorted.
    fn reference(all: &[DetectionInstance]) -> String {
        let mut v = all.to_vec();
        v.sort_by_cached_key(DetectionInstance::sort_key);
        v.iter()
            .map(|i| pa_canon::to_jsonl_line(i).unwrap())
            .collect()
    }

    fn corpus(n: u32) -> Vec<DetectionInstance> {
        // Pseudo-random rules and times, with exact duplicates (ties keep push order).
        (0..n)
            .map(|i| {
                let x = i.wrapping_mul(2_654_435_761) >> 7;
                inst(&format!("r{}", x % 17), x % 7, &format!("e{}", x % 5))
            })
            .collect()
    }

    /// The output, and how many run files were written.
    fn sorted(all: &[DetectionInstance], budget: usize, parent: &Path) -> (String, usize) {
        let mut s = SortedInstances::new(parent, budget);
        for i in all {
            s.push(i).unwrap();
            assert!(s.runs.len() < MAX_RUNS);
        }
        let runs = s.created;
        let mut out = Vec::new();
        assert_eq!(s.finish(&mut out).unwrap(), all.len() as u64);
        (String::from_utf8(out).unwrap(), runs)
    }

    #[test]
    fn spilled_or_not_the_order_is_the_stable_sort() {
        let t = tempfile::tempdir().unwrap();
        let all = corpus(3_000);
        let want = reference(&all);
        let (held, runs) = sorted(&all, usize::MAX, t.path());
        assert_eq!(runs, 0);
        assert_eq!(held, want);
        // One run per instance (runs folded together 64 at a time), a few runs, two.
        for (budget, min_runs) in [(1, 3_000), (40_000, 10), (1_000_000, 2)] {
            let (spilled, runs) = sorted(&all, budget, t.path());
            assert!(runs >= min_runs, "budget {budget}: {runs} run(s)");
            assert_eq!(spilled, want, "budget {budget}");
        }
        // The spill directory goes with the sorter.
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn nothing_pushed_writes_nothing() {
        let t = tempfile::tempdir().unwrap();
        let (out, runs) = sorted(&[], 1, t.path());
        assert_eq!((out.as_str(), runs), ("", 0));
    }

    #[test]
    fn a_damaged_run_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let mut s = SortedInstances::new(t.path(), 1);
        for i in corpus(10) {
            s.push(&i).unwrap();
        }
        let run = s.runs[3].clone();
        let bytes = std::fs::read(&run).unwrap();
        std::fs::write(&run, &bytes[..bytes.len() - 3]).unwrap();
        let err = s.finish(&mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("run-000003"), "{err}");
    }

    #[test]
    fn an_unwritable_spill_parent_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let mut s = SortedInstances::new(&file, 1);
        let err = s.push(&corpus(1)[0]).unwrap_err().to_string();
        assert!(err.contains("not-a-dir"), "{err}");
    }
}
