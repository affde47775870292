//! [`Progress`]: the counters of one run (pages, items and bytes extracted, rows normalized per
//! table, files and rows loaded), for a display to read while the run goes.
//!
//! A run owns its counters: the pipeline makes them (or is given them) and passes them down to
//! its sources, the normalizer and the destination, so two pipelines running at once in one
//! process each count only their own work. Counting costs one atomic add (and, for rows per
//! table, one uncontended lock) per page or batch, never per row.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What a run is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    /// Reading sources.
    #[default]
    Extracting,
    /// Turning items into tables.
    Normalizing,
    /// Writing to the destination.
    Loading,
}

impl Stage {
    /// `extracting`, `normalizing`, `loading`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Extracting => "extracting",
            Stage::Normalizing => "normalizing",
            Stage::Loading => "loading",
        }
    }

    fn from_code(code: u8) -> Stage {
        match code {
            0 => Stage::Extracting,
            1 => Stage::Normalizing,
            _ => Stage::Loading,
        }
    }
}

/// Where notes go: a display installs one (a terminal bar prints them above itself).
pub type NoteSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A handle on one run's counters; clones count into the same counters.
#[derive(Clone, Default)]
pub struct Progress(Arc<Counters>);

#[derive(Default)]
struct Counters {
    stage: AtomicU8,
    pages: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
    normalized_rows: AtomicU64,
    normalized_tables: Mutex<BTreeMap<String, u64>>,
    loaded_files: AtomicU64,
    loaded_rows: AtomicU64,
    load_total_rows: AtomicU64,
    notes: Mutex<Option<NoteSink>>,
}

/// What a run has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The stage the run is in.
    pub stage: Stage,
    /// Pages fetched (REST sources).
    pub pages: u64,
    /// Items extracted.
    pub items: u64,
    /// Bytes read from files, downloads and pages.
    pub bytes: u64,
    /// Rows written by normalize, all tables together.
    pub normalized_rows: u64,
    /// Rows written by normalize per table.
    pub normalized_tables: BTreeMap<String, u64>,
    /// Table files loaded.
    pub loaded_files: u64,
    /// Rows loaded.
    pub loaded_rows: u64,
    /// Rows the packages being loaded hold (0 when unknown).
    pub load_total_rows: u64,
}

impl Progress {
    /// New counters, all zero.
    pub fn new() -> Self {
        Progress::default()
    }

    /// True when both handles count into the same counters.
    pub fn same(&self, other: &Progress) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Sets what the run is doing.
    pub fn stage(&self, stage: Stage) {
        self.0.stage.store(stage as u8, Ordering::Relaxed);
    }

    /// Counts one page of `bytes` fetched.
    pub fn page(&self, bytes: u64) {
        self.0.pages.fetch_add(1, Ordering::Relaxed);
        self.0.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` read from a file or download.
    pub fn bytes(&self, bytes: u64) {
        self.0.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `n` items extracted.
    pub fn items(&self, n: u64) {
        self.0.items.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `rows` normalized into `table`.
    pub fn normalized(&self, table: &str, rows: u64) {
        self.0.normalized_rows.fetch_add(rows, Ordering::Relaxed);
        let mut tables = self
            .0
            .normalized_tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match tables.get_mut(table) {
            Some(n) => *n += rows,
            None => {
                tables.insert(table.to_owned(), rows);
            }
        }
    }

    /// Counts `rows` loaded.
    pub fn loaded_rows(&self, rows: u64) {
        self.0.loaded_rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// Counts one table file loaded.
    pub fn loaded_file(&self) {
        self.0.loaded_files.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `rows` to the rows expected by the load.
    pub fn expect_load_rows(&self, rows: u64) {
        self.0.load_total_rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// Sends notes (things worth telling the user, never secrets) to `sink` from now on.
    pub fn set_note_sink(&self, sink: NoteSink) {
        *self.0.notes.lock().unwrap_or_else(PoisonError::into_inner) = Some(sink);
    }

    /// Tells the user something worth knowing (never a secret); dropped when no display
    /// installed a sink.
    pub fn note(&self, message: &str) {
        let sink = self
            .0
            .notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(sink) = sink {
            sink(message);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let c = &self.0;
        Snapshot {
            stage: Stage::from_code(c.stage.load(Ordering::Relaxed)),
            pages: c.pages.load(Ordering::Relaxed),
            items: c.items.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            normalized_rows: c.normalized_rows.load(Ordering::Relaxed),
            normalized_tables: c
                .normalized_tables
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            loaded_files: c.loaded_files.load(Ordering::Relaxed),
            loaded_rows: c.loaded_rows.load(Ordering::Relaxed),
            load_total_rows: c.load_total_rows.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Progress").field(&self.snapshot()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_run() {
        let run = Progress::new();
        let other = Progress::new();
        run.normalized("t", 3);
        run.clone().normalized("t", 4);
        run.loaded_file();
        run.loaded_rows(7);
        run.expect_load_rows(7);
        run.page(10);
        run.stage(Stage::Loading);
        other.normalized("t", 100);
        let snap = run.snapshot();
        assert_eq!(snap.normalized_rows, 7);
        assert_eq!(snap.normalized_tables.get("t"), Some(&7));
        assert_eq!((snap.loaded_files, snap.loaded_rows), (1, 7));
        assert_eq!((snap.pages, snap.bytes), (1, 10));
        assert_eq!(snap.stage, Stage::Loading);
        assert_eq!(other.snapshot().normalized_rows, 100);
        assert!(run.same(&run.clone()) && !run.same(&other));
    }

    #[test]
    fn notes_reach_the_installed_sink() {
        let run = Progress::new();
        run.note("dropped: no sink yet");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&seen);
        run.set_note_sink(Arc::new(move |m| {
            into.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(m.to_owned())
        }));
        run.note("hello");
        assert_eq!(
            *seen.lock().unwrap_or_else(PoisonError::into_inner),
            vec!["hello".to_string()]
        );
    }
}
