//! Showing a run's [`Progress`] while it goes. The counters are the run's own
//! ([`dltrs_core::progress`]: extract counts pages, items and bytes; normalize rows per table;
//! load files and rows of the total), handed to the pipeline by whoever shows them. On a
//! terminal each stage gets an indicatif bar that stays on screen when the stage ends;
//! otherwise (CI, cron) a plain line every few seconds.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use dltrs_core::progress::{Progress, Snapshot, Stage};

/// Shows a run's progress on stderr until dropped, then prints the totals.
pub struct ProgressReport {
    progress: Progress,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    bar: Arc<Mutex<Option<indicatif::ProgressBar>>>,
    started: Instant,
}

impl ProgressReport {
    /// Starts showing `progress` on stderr: live bars on a terminal, a line every `interval`
    /// otherwise. The run's notes are printed too (above the bar on a terminal).
    pub fn install(progress: &Progress, interval: Duration) -> ProgressReport {
        let bar: Arc<Mutex<Option<indicatif::ProgressBar>>> = Arc::default();
        {
            let bar = Arc::clone(&bar);
            progress.set_note_sink(Arc::new(move |message: &str| {
                match bar.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                    Some(bar) => bar.println(message),
                    None => eprintln!("{message}"),
                }
            }));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let terminal = std::io::stderr().is_terminal();
        let thread = {
            let (progress, stop, slot) = (progress.clone(), stop.clone(), bar.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut last_log = Instant::now();
                let mut shown_stage = None;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let snap = progress.snapshot();
                    let line = summary(&snap, snap.stage);
                    if terminal {
                        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                        if shown_stage != Some(snap.stage) {
                            if let (Some(bar), Some(old)) = (slot.take(), shown_stage) {
                                bar.set_message(summary(&snap, old));
                                bar.finish();
                            }
                            shown_stage = Some(snap.stage);
                            *slot = Some(new_bar(snap.stage));
                        }
                        if let Some(bar) = slot.as_ref() {
                            if snap.stage == Stage::Loading {
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
                            snap.stage.name()
                        );
                    }
                }
            })
        };
        ProgressReport {
            progress: progress.clone(),
            stop,
            thread: Some(thread),
            bar,
            started: Instant::now(),
        }
    }
}

/// "3 pages, 3000 items extracted, 1.2 MB".
pub fn extract_summary(snap: &Snapshot) -> String {
    summary(snap, Stage::Extracting)
}

/// What `stage` has done: extract's pages, items and bytes; normalize's rows per table;
/// load's files and rows.
fn summary(snap: &Snapshot, stage: Stage) -> String {
    match stage {
        Stage::Extracting => {
            let mut parts = Vec::new();
            if snap.pages > 0 {
                parts.push(format!("{} pages", snap.pages));
            }
            parts.push(format!("{} items extracted", snap.items));
            parts.push(format!("{:.1} MB", snap.bytes as f64 / 1e6));
            parts.join(", ")
        }
        Stage::Normalizing => {
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
        }
        Stage::Loading => format!(
            "{} files, {} of {} rows loaded",
            snap.loaded_files, snap.loaded_rows, snap.load_total_rows
        ),
    }
}

/// A spinner for the stages whose total is unknown, a bar for the load.
fn new_bar(stage: Stage) -> indicatif::ProgressBar {
    let name = stage.name();
    let bar = if stage == Stage::Loading {
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
        let snap = self.progress.snapshot();
        if let Some(bar) = self
            .bar
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            bar.set_message(summary(&snap, snap.stage));
            bar.finish();
        }
        if snap.items > 0 || snap.bytes > 0 {
            eprintln!(
                "done in {:.1}s: {}; {} rows normalized; {} rows loaded",
                self.started.elapsed().as_secs_f64(),
                extract_summary(&snap),
                snap.normalized_rows,
                snap.loaded_rows,
            );
        }
    }
}
