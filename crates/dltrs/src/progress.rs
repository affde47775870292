//! [`Progress`]: counters of pages, items and bytes extracted, shown while a run goes: a
//! progress line on a terminal, a log line every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
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
    bar: OnceLock<indicatif::ProgressBar>,
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

    /// Starts showing progress on stderr: a live line on a terminal, a line every
    /// `interval` otherwise. Only the first call in a process installs counters.
    pub fn install(interval: Duration) -> ProgressReport {
        let progress = Progress::global();
        if let Some(c) = &progress.0 {
            c.shown.store(true, Ordering::Relaxed);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let terminal = std::io::stderr().is_terminal();
        if let (true, Some(counters)) = (terminal, &progress.0) {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            let _ = counters.bar.set(bar);
        }
        let thread = {
            let progress = progress.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut last_log = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let Some(counters) = &progress.0 else { return };
                    let stage = Stage::name(counters.stage.load(Ordering::Relaxed));
                    if let Some(bar) = counters.bar.get() {
                        bar.set_message(format!("{stage}: {}", progress.summary()));
                    } else if last_log.elapsed() >= interval {
                        last_log = Instant::now();
                        eprintln!(
                            "[{:>6.1}s] {stage}: {}",
                            started.elapsed().as_secs_f64(),
                            progress.summary()
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
        match c.bar.get() {
            Some(bar) => bar.println(message),
            None if c.shown.load(Ordering::Relaxed) => eprintln!("{message}"),
            None => {}
        }
    }

    /// "3 pages, 3000 items, 1.2 MB".
    pub fn summary(&self) -> String {
        let Some(c) = &self.0 else {
            return String::new();
        };
        let pages = c.pages.load(Ordering::Relaxed);
        let items = c.items.load(Ordering::Relaxed);
        let bytes = c.bytes.load(Ordering::Relaxed);
        let mut parts = Vec::new();
        if pages > 0 {
            parts.push(format!("{pages} pages"));
        }
        parts.push(format!("{items} items extracted"));
        parts.push(format!("{:.1} MB", bytes as f64 / 1e6));
        parts.join(", ")
    }
}

impl Drop for ProgressReport {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(c) = &self.progress.0 {
            if let Some(bar) = c.bar.get() {
                bar.finish_and_clear();
            }
            if c.items.load(Ordering::Relaxed) > 0 || c.bytes.load(Ordering::Relaxed) > 0 {
                eprintln!(
                    "done in {:.1}s: {}",
                    self.started.elapsed().as_secs_f64(),
                    self.progress.summary()
                );
            }
        }
    }
}
