//! Reading several files on several threads, in file order.
//!
//! Every file is read by one worker: a caller-supplied `start` step (e.g. the file's digest),
//! then its records, each turned by a caller-supplied `map` into what the caller consumes
//! (a raw row, an OCSF line, …) on the worker thread. The caller receives each file's events
//! in file order and, within a file, in record order, exactly as a sequential loop would see
//! them, so whatever it writes is byte-identical whatever the thread count. Each file has a
//! bounded channel (a few batches), so memory does not grow with the corpus: a worker ahead of
//! the caller waits.
//!
//! Workers take files in ascending order, so the file the caller waits for is always being
//! read or about to be (no deadlock); when the caller stops early (an error), it drops the
//! channels and every worker stops at its next send.

use crate::{Counters, ReadError, SourceFormat, SourceRecord};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// The sending end of one file's channel.
type Sender<S, T> = SyncSender<FileEvent<S, T>>;

/// Records a worker sends at once.
const BATCH: usize = 512;
/// Batches a file's channel holds.
const CHANNEL_BATCHES: usize = 4;

/// What reading one file gives, in this order: `Start`, then `OpenFailed` (and nothing more)
/// or any number of `Records`/`ReadError`, then `Done`.
pub enum FileEvent<S, T> {
    /// What the `start` step gave (before the file is opened as its format).
    Start(S),
    /// The reader could not be opened (no records follow, no `Done`).
    OpenFailed(ReadError),
    /// The next records, each as `map` turned it.
    Records(Vec<T>),
    /// A record the reader reported as an error (the file goes on).
    ReadError(ReadError),
    /// The reader's counters at the end of the file.
    Done(Counters),
}

/// Threads to read `files` files with: the machine's parallelism, at most one per file, at
/// most 4.
pub fn threads_for(files: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
        .min(files)
        .max(1)
}

/// Read `files` as `format` on `threads` threads. Per file, `start(path)` runs first on the
/// worker; its result is sent as [`FileEvent::Start`]; each record is turned by
/// `map(file index, record)`. `on_event(file index, event)` sees every file's events in file
/// order. An `Err` from `on_event` stops the reading and is returned.
pub fn read_files<S, T, E>(
    files: &[PathBuf],
    format: SourceFormat,
    threads: usize,
    start: impl Fn(&Path) -> S + Sync,
    map: impl Fn(usize, SourceRecord) -> T + Sync,
    mut on_event: impl FnMut(usize, FileEvent<S, T>) -> Result<(), E>,
) -> Result<(), E>
where
    S: Send,
    T: Send,
{
    if files.is_empty() {
        return Ok(());
    }
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..files.len())
        .map(|_| sync_channel::<FileEvent<S, T>>(CHANNEL_BATCHES))
        .unzip();
    let senders: Mutex<Vec<Option<Sender<S, T>>>> =
        Mutex::new(senders.into_iter().map(Some).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= files.len() {
                        break;
                    }
                    let Some(tx) = senders.lock().ok().and_then(|mut s| s[i].take()) else {
                        break;
                    };
                    if read_one(i, &files[i], format, &start, &map, &tx).is_err() {
                        // The caller stopped listening: stop too.
                        break;
                    }
                }
            });
        }
        consume(receivers, &mut on_event)
        // The receivers are dropped here, before the scope joins: a worker blocked on a send
        // (the caller stopped early) wakes up with an error and ends.
    })
}

fn consume<S, T, E>(
    receivers: Vec<Receiver<FileEvent<S, T>>>,
    on_event: &mut impl FnMut(usize, FileEvent<S, T>) -> Result<(), E>,
) -> Result<(), E> {
    for (i, rx) in receivers.into_iter().enumerate() {
        // The channel closes when the worker is done with the file.
        for ev in rx {
            on_event(i, ev)?;
        }
    }
    Ok(())
}

/// Read one file and send its events; `Err` when the caller has gone away.
fn read_one<S, T>(
    i: usize,
    path: &Path,
    format: SourceFormat,
    start: &impl Fn(&Path) -> S,
    map: &impl Fn(usize, SourceRecord) -> T,
    tx: &SyncSender<FileEvent<S, T>>,
) -> Result<(), ()> {
    let send = |ev| tx.send(ev).map_err(|_| ());
    send(FileEvent::Start(start(path)))?;
    let mut reader = match crate::open(path, format) {
        Ok(r) => r,
        Err(e) => return send(FileEvent::OpenFailed(e)),
    };
    let mut batch = Vec::with_capacity(BATCH);
    for item in reader.by_ref() {
        match item {
            Ok(rec) => {
                batch.push(map(i, rec));
                if batch.len() == BATCH {
                    send(FileEvent::Records(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(BATCH),
                    )))?;
                }
            }
            Err(e) => {
                if !batch.is_empty() {
                    send(FileEvent::Records(std::mem::take(&mut batch)))?;
                }
                send(FileEvent::ReadError(e))?;
            }
        }
    }
    if !batch.is_empty() {
        send(FileEvent::Records(batch))?;
    }
    send(FileEvent::Done(reader.counters().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/evtx/EVTX-ATTACK-SAMPLES/Credential Access");
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("EVTX-ATTACK-SAMPLES beside the repository")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
            .collect();
        v.sort();
        v
    }

    /// (file index, ordinal, record id) of every record, and the per-file counters, as
    /// `threads` threads deliver them.
    /// (file index, ordinal, record id) of a record.
    type Seen = (usize, u64, Option<u64>);

    fn read_all(files: &[PathBuf], threads: usize) -> (Vec<Seen>, Vec<u64>) {
        let mut seen = Vec::new();
        let mut reads = Vec::new();
        read_files(
            files,
            SourceFormat::Evtx,
            threads,
            |p| p.to_path_buf(),
            |i, r| (i, r.provenance.ordinal, r.provenance.record_id),
            |i, ev| {
                match ev {
                    FileEvent::Start(p) => assert_eq!(p, files[i]),
                    FileEvent::Records(rs) => seen.extend(rs),
                    FileEvent::Done(c) => reads.push(c.read),
                    FileEvent::OpenFailed(e) | FileEvent::ReadError(e) => panic!("{e}"),
                }
                Ok::<(), ()>(())
            },
        )
        .expect("read");
        (seen, reads)
    }

    #[test]
    fn any_thread_count_gives_the_sequential_order() {
        let files = samples();
        assert!(files.len() > 4, "{} files", files.len());
        let one = read_all(&files, 1);
        assert!(one.0.len() > 100);
        for t in [2, 3, 8] {
            assert_eq!(read_all(&files, t), one, "{t} threads");
        }
        // File order, then record order within a file.
        assert!(
            one.0
                .windows(2)
                .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1))
        );
    }

    #[test]
    fn the_caller_stopping_early_stops_the_workers() {
        let files = samples();
        let mut n = 0;
        let r = read_files(
            &files,
            SourceFormat::Evtx,
            4,
            |_| (),
            |_, _| (),
            |_, ev| {
                if let FileEvent::Records(rs) = ev {
                    n += rs.len();
                    if n > 10 {
                        return Err("enough");
                    }
                }
                Ok(())
            },
        );
        assert_eq!(r, Err("enough"));
    }

    #[test]
    fn a_file_that_is_not_evtx_is_an_open_failure_and_the_others_go_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.evtx");
        std::fs::write(&bad, b"not an evtx file").expect("write");
        let mut files = samples();
        files.insert(1, bad);
        let mut events = Vec::new();
        read_files(
            &files,
            SourceFormat::Evtx,
            2,
            |_| (),
            |_, _| (),
            |i, ev| {
                events.push((
                    i,
                    match ev {
                        FileEvent::Start(()) => "start",
                        FileEvent::OpenFailed(_) => "open-failed",
                        FileEvent::Records(_) => "records",
                        FileEvent::ReadError(_) => "read-error",
                        FileEvent::Done(_) => "done",
                    },
                ));
                Ok::<(), ()>(())
            },
        )
        .expect("read");
        let of = |i| {
            events
                .iter()
                .filter(|e| e.0 == i)
                .map(|e| e.1)
                .collect::<Vec<_>>()
        };
        assert_eq!(of(1), ["start", "open-failed"]);
        assert_eq!(of(0).first(), Some(&"start"));
        assert_eq!(of(0).last(), Some(&"done"));
        assert_eq!(of(2).last(), Some(&"done"));
    }
}
