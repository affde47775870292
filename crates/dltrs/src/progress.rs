//! [`Progress`]: what a run has done so far, shown while it goes. Extract counts pages, items
//! and bytes here; normalize (rows per table) and load (files, rows of the total) count in
//! [`dltrs_core::progress`]. On a terminal each stage gets an indicatif bar that stays on
//! screen when the stage ends; otherwise (CI, cron) a plain line every few seconds.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A handle on the run's counters; shown once [`Progress::install`] was called.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<Counters>>);

#[derive(Default)]
struct Counters {
    pages: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
    /// 0 extracting, 1 normalizing, 2 loading.
    stage: AtomicU64,
    shown: AtomicBool,
    /// The current stage's bar, on a terminal.
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

/// What a run is doing, for the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading sources.
    Extracting,
    /// Turning items into tables.
    Normalizing,
    /// Writing to the destination.
    Loading,
}

impl Stage {
    fn name(code: u64) -> &'static str {
        match code {
            0 => "extracting",
            1 => "normalizing",
            _ => "loading",
        }
    }
}

static GLOBAL: OnceLock<Progress> = OnceLock::new();

/// Shows progress until dropped, then prints the totals.
pub struct ProgressReport {
    progress: Progress,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    started: Instant,
}

impl Progress {
    /// The process's progress counters.
    pub fn global() -> Progress {
        GLOBAL
            .get_or_init(|| Progress(Some(Arc::new(Counters::default()))))
            .clone()
    }

    /// Sets what the run is doing.
    pub fn stage(&self, stage: Stage) {
        if let Some(c) = &self.0 {
            c.stage.store(stage as u64, Ordering::Relaxed);
        }
    }

    /// Starts showing progress on stderr: live bars on a terminal, a line every `interval`
    /// otherwise. Only the first call in a process installs counters.
    pub fn install(interval: Duration) -> ProgressReport {
        let progress = Progress::global();
        if let Some(c) = &progress.0 {
            c.shown.store(true, Ordering::Relaxed);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let terminal = std::io::stderr().is_terminal();
        let thread = {
            let progress = progress.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let Some(counters) = progress.0.clone() else {
                    return;
                };
                let started = Instant::now();
                let mut last_log = Instant::now();
                let mut shown_stage = None;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let stage = counters.stage.load(Ordering::Relaxed);
                    let line = progress.stage_summary(stage);
                    if terminal {
                        if shown_stage != Some(stage) {
                            if let (Some(bar), Some(old)) = (
                                counters.bar.lock().ok().and_then(|mut b| b.take()),
                                shown_stage,
                            ) {
                                bar.set_message(progress.stage_summary(old));
                                bar.finish();
                            }
                            shown_stage = Some(stage);
                            let bar = new_bar(stage);
                            if let Ok(mut slot) = counters.bar.lock() {
                                *slot = Some(bar);
                            }
                        }
                        if let Some(bar) = counters.bar.lock().ok().and_then(|b| b.clone()) {
                            if stage == Stage::Loading as u64 {
                                let snap = dltrs_core::progress::snapshot();
                                bar.set_length(snap.load_total_rows.max(snap.loaded_rows));
                                bar.set_position(snap.loaded_rows);
                            }
                            bar.set_message(line);
                        }
                    } else if last_log.elapsed() >= interval {
                        last_log = Instant::now();
                        eprintln!(
                            "[{:>6.1}s] {}: {line}",
                            started.elapsed().as_secs_f64(),
                            Stage::name(stage)
                        );
                    }
                }
            })
        };
        ProgressReport {
            progress,
            stop,
            thread: Some(thread),
            started: Instant::now(),
        }
    }

    /// Counts one page of `bytes` fetched.
    pub fn page(&self, bytes: u64) {
        if let Some(c) = &self.0 {
            c.pages.fetch_add(1, Ordering::Relaxed);
            c.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Counts `bytes` read from a file or download.
    pub fn bytes(&self, bytes: u64) {
        if let Some(c) = &self.0 {
            c.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Counts `n` items extracted.
    pub fn items(&self, n: u64) {
        if let Some(c) = &self.0 {
            c.items.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Tells the user something worth knowing (never a secret).
    pub fn note(&self, message: &str) {
        let Some(c) = &self.0 else { return };
        match c.bar.lock().ok().and_then(|b| b.clone()) {
            Some(bar) => bar.println(message),
            None if c.shown.load(Ordering::Relaxed) => eprintln!("{message}"),
            None => {}
        }
    }

    /// "3 pages, 3000 items extracted, 1.2 MB".
    pub fn summary(&self) -> String {
        self.stage_summary(Stage::Extracting as u64)
    }

    /// What the stage `code` has done: extract's pages, items and bytes; normalize's rows
    /// per table; load's files and rows.
    fn stage_summary(&self, code: u64) -> String {
        let Some(c) = &self.0 else {
            return String::new();
        };
        let mut parts = Vec::new();
        if code == Stage::Extracting as u64 {
            let pages = c.pages.load(Ordering::Relaxed);
            let items = c.items.load(Ordering::Relaxed);
            let bytes = c.bytes.load(Ordering::Relaxed);
            if pages > 0 {
                parts.push(format!("{pages} pages"));
            }
            parts.push(format!("{items} items extracted"));
            parts.push(format!("{:.1} MB", bytes as f64 / 1e6));
            return parts.join(", ");
        }
        let snap = dltrs_core::progress::snapshot();
        if code == Stage::Normalizing as u64 {
            let tables: Vec<String> = snap
                .normalized_tables
                .iter()
                .filter(|(t, _)| !t.starts_with("_dlt"))
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            format!(
                "{} rows normalized ({})",
                snap.normalized_rows,
                tables.join(", ")
            )
        } else {
            format!(
                "{} files, {} of {} rows loaded",
                snap.loaded_files, snap.loaded_rows, snap.load_total_rows
            )
        }
    }
}

/// A spinner for the stages whose total is unknown, a bar for the load.
fn new_bar(stage: u64) -> indicatif::ProgressBar {
    let name = Stage::name(stage);
    let bar = if stage == Stage::Loading as u64 {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{name:>11} [{{bar:30}}] {{percent:>3}}% {{msg}}"
        )) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) =
            indicatif::ProgressStyle::with_template(&format!("{name:>11} {{spinner}} {{msg}}"))
        {
            bar.set_style(style);
        }
        bar
    };
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

impl Drop for ProgressReport {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(c) = &self.progress.0 {
            if let Some(bar) = c.bar.lock().ok().and_then(|mut b| b.take()) {
                let stage = c.stage.load(Ordering::Relaxed);
                bar.set_message(self.progress.stage_summary(stage));
                bar.finish();
            }
            if c.items.load(Ordering::Relaxed) > 0 || c.bytes.load(Ordering::Relaxed) > 0 {
                let snap = dltrs_core::progress::snapshot();
                eprintln!(
                    "done in {:.1}s: {}; {} rows normalized; {} rows loaded",
                    self.started.elapsed().as_secs_f64(),
                    self.progress.summary(),
                    snap.normalized_rows,
                    snap.loaded_rows,
                );
            }
        }
    }
}
