//! Stream mode: Sigma over events given as JSON lines (a file or stdin), detections as JSON
//! lines on the output, in line order then rule order; correlations over the matches in the
//! same order.

use crate::detector::Detector;
use crate::detector::FieldMode;
use crate::instance::DetectionInstance;
use crate::{DetectError, EventRef, columnar, correlate, detect_batch, instance};
use rayon::prelude::*;
use serde_json::Value;
use std::io::{BufRead, Write};

/// The longest line [`stream`] reads (64 MiB, the bound of the JSON-lines telemetry readers);
/// a longer one is an error, and no more of it than this is ever held in memory.
pub const MAX_EVENT_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Why [`next_line`] gave no line.
enum LineError {
    Read(std::io::Error),
    Bad(String),
}

/// The next line of `reader` (without its `\n`) in `buf`, at most `max` bytes of it read; `None`
/// at the end of the input.
fn next_line<'b>(
    reader: &mut dyn BufRead,
    buf: &'b mut Vec<u8>,
    max: usize,
) -> Result<Option<&'b str>, LineError> {
    use std::io::Read;
    buf.clear();
    let n = reader
        .take(max as u64 + 1)
        .read_until(b'\n', buf)
        .map_err(LineError::Read)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > max {
        return Err(LineError::Bad(format!("line longer than {max} bytes")));
    }
    match std::str::from_utf8(buf) {
        Ok(line) => Ok(Some(line)),
        Err(e) => Err(LineError::Bad(format!(
            "not UTF-8 (invalid byte at column {})",
            e.valid_up_to() + 1
        ))),
    }
}

/// What [`stream`] did.
#[derive(Debug, Default, Clone)]
pub struct StreamTally {
    pub events: u64,
    pub detections: u64,
    /// Of `detections`, those of correlation rules.
    pub correlation_detections: u64,
    /// What correlation state bounds left out (also logged).
    pub correlation_warnings: Vec<String>,
    pub executable_rules: usize,
    pub non_executable_rules: usize,
}

/// Stream mode: events as JSON lines from `input` (`-` = stdin); one detection JSON line per
/// (event, matching rule), in event order then rule order.
pub fn stream(
    det: &Detector,
    input: &str,
    out: &mut dyn Write,
) -> Result<StreamTally, DetectError> {
    let input_err = |error| DetectError::Input {
        input: input.to_owned(),
        error,
    };
    let reader: Box<dyn BufRead> = if input == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(input).map_err(input_err)?,
        ))
    };
    let mut tally = StreamTally {
        executable_rules: det.executable_count(),
        non_executable_rules: det.plans.len() - det.executable_count(),
        ..Default::default()
    };
    // Lines are gathered in batches; a batch is parsed and matched in parallel, its detections
    // (and the correlations its matches complete) written in line order.
    let mut batch: Vec<(u64, String)> = Vec::new();
    let mut corr = correlate::Correlator::new(det);
    let mut flush = |batch: &mut Vec<(u64, String)>,
                     out: &mut dyn Write,
                     tally: &mut StreamTally|
     -> Result<(), DetectError> {
        let parsed: Vec<Result<Value, serde_json::Error>> = batch
            .par_iter()
            .map(|(_, text)| serde_json::from_str(text))
            .collect();
        let mut evs = Vec::with_capacity(parsed.len());
        for ((line_no, _), v) in batch.iter().zip(parsed) {
            evs.push(v.map_err(|error| DetectError::NotAnEvent {
                input: input.to_owned(),
                line: *line_no,
                error,
            })?);
        }
        tally.events += evs.len() as u64;
        if det.mode == FieldMode::Ocsf {
            let mut classes: Vec<u32> = evs
                .iter()
                .filter_map(|e| e.get("class_uid").and_then(Value::as_u64))
                .filter_map(|c| u32::try_from(c).ok())
                .collect();
            classes.sort_unstable();
            classes.dedup();
            det.prepare_classes(&classes)?;
        }
        let hits = detect_batch(det, &evs);
        let mut write = |inst: &DetectionInstance| -> Result<(), DetectError> {
            let line = pa_canon::to_jsonl_line(inst)?;
            out.write_all(line.as_bytes())
                .map_err(DetectError::Output)?;
            tally.detections += 1;
            tally.correlation_detections += u64::from(inst.correlation.is_some());
            Ok(())
        };
        for (((line_no, _), ev), hits) in batch.iter().zip(&evs).zip(hits) {
            let er = EventRef::of_value(ev, || format!("{input}:{line_no}"));
            for &r in &hits {
                if corr.generates(r) {
                    write(&instance(det, r, &er, None, None))?;
                }
            }
            if !hits.iter().any(|&r| corr.wants(r)) {
                continue;
            }
            let event: Box<dyn pa_sigma::Event> = match det.mode {
                FieldMode::Ocsf => Box::new(columnar::ValueEvent(ev)),
                FieldMode::Sigma => Box::new(pa_sigma::SigmaJsonEvent::new(ev.clone())),
            };
            for &r in &hits {
                for inst in corr.feed(r, &er, event.as_ref(), None, None) {
                    write(&inst)?;
                }
            }
        }
        batch.clear();
        // Freeing a batch of parsed events is a tenth of the work: spread it too.
        evs.into_par_iter().for_each(drop);
        Ok(())
    };
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    while let Some(line) =
        next_line(&mut reader, &mut buf, MAX_EVENT_LINE_BYTES).map_err(|e| match e {
            LineError::Read(e) => input_err(e),
            LineError::Bad(problem) => DetectError::BadLine {
                input: input.to_owned(),
                line: line_no + 1,
                problem,
            },
        })?
    {
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        batch.push((line_no, line.to_owned()));
        if batch.len() >= 4096 {
            flush(&mut batch, out, &mut tally)?;
        }
    }
    flush(&mut batch, out, &mut tally)?;
    tally.correlation_warnings = corr.warnings();
    out.flush().map_err(DetectError::Output)?;
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::{LineError, next_line};

    fn lines(data: &[u8], max: usize) -> Vec<Result<String, String>> {
        let mut r = std::io::BufReader::with_capacity(4, data);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match next_line(&mut r, &mut buf, max) {
                Ok(Some(l)) => out.push(Ok(l.to_owned())),
                Ok(None) => return out,
                Err(LineError::Bad(p)) => {
                    out.push(Err(p));
                    return out;
                }
                Err(LineError::Read(e)) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn lines_are_bounded_and_utf8() {
        assert_eq!(
            lines(b"{}\n12345678\nlast", 8),
            [Ok("{}".into()), Ok("12345678".into()), Ok("last".into())]
        );
        assert_eq!(
            lines(b"ok\n123456789\nnever read", 8),
            [Ok("ok".into()), Err("line longer than 8 bytes".into())]
        );
        assert_eq!(
            lines(b"{\"a\":\"\xff\"}\n", 64),
            [Err("not UTF-8 (invalid byte at column 7)".into())]
        );
    }
}
