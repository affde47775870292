//! Where the normalizer reads an extracted package from: its sealed directory, or an
//! extract still being written ([`ExtractEvent`]s, so a run normalizes while it extracts).
//!
//! Either way the normalizer sees the manifest's entries in order and each entry's files in
//! order, so the package it writes does not depend on which feed it read.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use crate::error::PackageError;
use crate::package::{ExtractEvent, ExtractedManifest, ExtractedResource};

/// The entries of an extracted package and their files, in manifest order.
pub(super) trait Feed {
    /// The next manifest entry (its `files` are read with [`Feed::next_file`]); `None` after
    /// the last.
    fn next_entry(&mut self) -> Result<Option<ExtractedResource>, PackageError>;

    /// The next file of the current entry, opened, with its name and where it is once the
    /// package is sealed (for messages); `None` after its last.
    fn next_file(&mut self) -> Result<Option<(String, PathBuf, File)>, PackageError>;

    /// The package's manifest, once every entry was read.
    fn manifest(&mut self) -> Result<&ExtractedManifest, PackageError>;
}

/// A sealed extracted package.
pub(super) struct Sealed<'a> {
    pub(super) manifest: &'a ExtractedManifest,
    pub(super) dir: &'a Path,
    entry: Option<usize>,
    file: usize,
}

impl<'a> Sealed<'a> {
    pub(super) fn new(manifest: &'a ExtractedManifest, dir: &'a Path) -> Self {
        Sealed {
            manifest,
            dir,
            entry: None,
            file: 0,
        }
    }
}

impl Feed for Sealed<'_> {
    fn next_entry(&mut self) -> Result<Option<ExtractedResource>, PackageError> {
        let next = self.entry.map_or(0, |e| e + 1);
        self.entry = Some(next);
        self.file = 0;
        Ok(self.manifest.resources.get(next).cloned())
    }

    fn next_file(&mut self) -> Result<Option<(String, PathBuf, File)>, PackageError> {
        let Some(entry) = self.entry.and_then(|e| self.manifest.resources.get(e)) else {
            return Ok(None);
        };
        let Some(name) = entry.files.get(self.file) else {
            return Ok(None);
        };
        self.file += 1;
        let path = self.dir.join(name);
        let file = File::open(&path).map_err(|e| PackageError::io(&path, e))?;
        Ok(Some((name.clone(), path, file)))
    }

    fn manifest(&mut self) -> Result<&ExtractedManifest, PackageError> {
        Ok(self.manifest)
    }
}

/// An extract being written: its writer's events, waited for as the normalizer needs them.
pub(super) struct Following {
    events: Receiver<ExtractEvent>,
    /// Where the package is once sealed.
    dir: PathBuf,
    /// Entries begun, by index.
    entries: Vec<ExtractedResource>,
    /// Closed files not yet read, by entry and position in the entry.
    files: BTreeMap<(usize, usize), (String, File)>,
    /// Entries before this one have all their files.
    complete: usize,
    /// Files received per entry.
    received: Vec<usize>,
    current: Option<usize>,
    file: usize,
    manifest: Option<ExtractedManifest>,
}

impl Following {
    pub(super) fn new(events: Receiver<ExtractEvent>, dir: PathBuf) -> Self {
        Following {
            events,
            dir,
            entries: Vec::new(),
            files: BTreeMap::new(),
            complete: 0,
            received: Vec::new(),
            current: None,
            file: 0,
            manifest: None,
        }
    }

    /// Waits for the writer's next event; an extract that ends without its commit is
    /// [`PackageError::ExtractAbandoned`].
    fn receive(&mut self) -> Result<(), PackageError> {
        let event = self
            .events
            .recv()
            .map_err(|_| PackageError::ExtractAbandoned)?;
        match event {
            ExtractEvent::Entry { index, resource } => {
                if self.entries.len() <= index {
                    self.entries
                        .resize_with(index + 1, ExtractedResource::default);
                    self.received.resize(index + 1, 0);
                }
                self.entries[index] = resource;
            }
            ExtractEvent::File {
                index,
                position,
                name,
                file,
            } => {
                if self.received.len() <= index {
                    self.received.resize(index + 1, 0);
                }
                self.received[index] += 1;
                self.files.insert((index, position), (name, file));
            }
            ExtractEvent::Complete { until } => self.complete = self.complete.max(until),
            ExtractEvent::Committed(manifest) => {
                self.complete = manifest.resources.len();
                self.manifest = Some(manifest);
            }
        }
        Ok(())
    }
}

impl Feed for Following {
    fn next_entry(&mut self) -> Result<Option<ExtractedResource>, PackageError> {
        let next = self.current.map_or(0, |e| e + 1);
        self.current = Some(next);
        self.file = 0;
        loop {
            if next < self.entries.len() {
                return Ok(Some(self.entries[next].clone()));
            }
            if self.manifest.is_some() {
                return Ok(None);
            }
            self.receive()?;
        }
    }

    fn next_file(&mut self) -> Result<Option<(String, PathBuf, File)>, PackageError> {
        let Some(entry) = self.current else {
            return Ok(None);
        };
        loop {
            if let Some((name, file)) = self.files.remove(&(entry, self.file)) {
                self.file += 1;
                let path = self.dir.join(&name);
                return Ok(Some((name, path, file)));
            }
            let done = self.received.get(entry).copied().unwrap_or(0);
            if entry < self.complete && self.file >= done {
                return Ok(None);
            }
            self.receive()?;
        }
    }

    fn manifest(&mut self) -> Result<&ExtractedManifest, PackageError> {
        while self.manifest.is_none() {
            self.receive()?;
        }
        self.manifest.as_ref().ok_or(PackageError::ExtractAbandoned)
    }
}
