//! Process-wide counters of what normalize and load have done so far, for a progress display
//! to read while a run goes. Counting costs one atomic add (and, for rows per table, one
//! uncontended lock) per batch, never per row.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

static NORMALIZED_ROWS: AtomicU64 = AtomicU64::new(0);
static NORMALIZED_TABLES: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
static LOADED_FILES: AtomicU64 = AtomicU64::new(0);
static LOADED_ROWS: AtomicU64 = AtomicU64::new(0);
static LOAD_TOTAL_ROWS: AtomicU64 = AtomicU64::new(0);

/// What normalize and load have done in this process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
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

/// Counts `rows` normalized into `table`.
pub fn normalized(table: &str, rows: u64) {
    NORMALIZED_ROWS.fetch_add(rows, Ordering::Relaxed);
    let mut tables = NORMALIZED_TABLES.lock().unwrap_or_else(|e| e.into_inner());
    match tables.get_mut(table) {
        Some(n) => *n += rows,
        None => {
            tables.insert(table.to_owned(), rows);
        }
    }
}

/// Counts `rows` loaded.
pub fn loaded_rows(rows: u64) {
    LOADED_ROWS.fetch_add(rows, Ordering::Relaxed);
}

/// Counts one table file loaded.
pub fn loaded_file() {
    LOADED_FILES.fetch_add(1, Ordering::Relaxed);
}

/// Adds `rows` to the rows expected by the load.
pub fn expect_load_rows(rows: u64) {
    LOAD_TOTAL_ROWS.fetch_add(rows, Ordering::Relaxed);
}

/// The counters now.
pub fn snapshot() -> Snapshot {
    Snapshot {
        normalized_rows: NORMALIZED_ROWS.load(Ordering::Relaxed),
        normalized_tables: NORMALIZED_TABLES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        loaded_files: LOADED_FILES.load(Ordering::Relaxed),
        loaded_rows: LOADED_ROWS.load(Ordering::Relaxed),
        load_total_rows: LOAD_TOTAL_ROWS.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let before = snapshot();
        normalized("progress_test_table", 3);
        normalized("progress_test_table", 4);
        loaded_file();
        loaded_rows(7);
        expect_load_rows(7);
        let after = snapshot();
        // other tests of this process may count too: only what this one added is certain
        assert!(after.normalized_rows >= before.normalized_rows + 7);
        assert_eq!(after.normalized_tables.get("progress_test_table"), Some(&7));
        assert!(after.loaded_files > before.loaded_files);
        assert!(after.loaded_rows >= before.loaded_rows + 7);
        assert!(after.load_total_rows >= before.load_total_rows + 7);
    }
}
