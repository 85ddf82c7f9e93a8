//! Per-reader counters: records read, kept, dropped by reason, plus reader-specific tallies.

use std::collections::BTreeMap;

/// How many raw records a reader saw and what became of them.
///
/// Invariant once the reader is exhausted: `read == kept + sum(dropped)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Raw records seen (EVTX records, event XML documents, log records, JSON rows, audit events).
    pub read: u64,
    /// Records yielded.
    pub kept: u64,
    /// Records dropped, by reason code.
    pub dropped: BTreeMap<String, u64>,
    /// Reader-specific tallies (e.g. `wineventlog_used_log_record_original_total`).
    pub extra: BTreeMap<String, u64>,
    /// The first diagnostic message seen for each drop reason.
    pub first_drop_detail: BTreeMap<String, String>,
}

impl Counters {
    /// Count a record that was seen.
    pub fn read(&mut self) {
        self.read += 1;
    }

    /// Count a record that was yielded.
    pub fn kept(&mut self) {
        self.kept += 1;
    }

    /// Count a dropped record with its reason code and a diagnostic.
    pub fn drop_record(&mut self, reason: &str, detail: impl Into<String>) {
        *self.dropped.entry(reason.to_owned()).or_default() += 1;
        self.first_drop_detail
            .entry(reason.to_owned())
            .or_insert_with(|| detail.into());
    }

    /// Count `n` dropped records with a reason (for records that were never decoded one by one,
    /// such as the records of an unreadable EVTX chunk). They are also counted as read.
    pub fn drop_many(&mut self, reason: &str, n: u64, detail: impl Into<String>) {
        if n == 0 {
            return;
        }
        self.read += n;
        *self.dropped.entry(reason.to_owned()).or_default() += n;
        self.first_drop_detail
            .entry(reason.to_owned())
            .or_insert_with(|| detail.into());
    }

    /// Increment a reader-specific tally.
    pub fn bump(&mut self, name: &str) {
        *self.extra.entry(name.to_owned()).or_default() += 1;
    }

    /// Total dropped records.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// All counters as one sorted map: `read`, `kept`, `dropped.<reason>`, and the extra tallies
    /// under their own names.
    pub fn as_map(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        m.insert("read".to_owned(), self.read);
        m.insert("kept".to_owned(), self.kept);
        for (k, v) in &self.dropped {
            m.insert(format!("dropped.{k}"), *v);
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), *v);
        }
        m
    }

    /// Add another reader's counters into this one.
    pub fn merge(&mut self, other: &Counters) {
        self.read += other.read;
        self.kept += other.kept;
        for (k, v) in &other.dropped {
            *self.dropped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.extra {
            *self.extra.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.first_drop_detail {
            self.first_drop_detail
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_is_sorted_and_complete() {
        let mut c = Counters::default();
        c.read();
        c.read();
        c.kept();
        c.drop_record("zeta", "z");
        c.bump("alpha_total");
        let m = c.as_map();
        let keys: Vec<_> = m.keys().cloned().collect();
        assert_eq!(keys, ["alpha_total", "dropped.zeta", "kept", "read"]);
        assert_eq!(c.read, c.kept + c.dropped_total());
    }
}
