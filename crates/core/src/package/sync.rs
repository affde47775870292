//! Files made durable on a thread of their own, so the disk works while we do.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::PackageError;

/// Bytes written to a file between two syncs started part way: the last sync, the one a
/// package waits for, then has at most this much left to write.
pub(crate) const SYNC_EVERY_BYTES: u64 = 16 << 20;

/// Syncs handed-over files (or clones of their handles, part way through writing) on a thread
/// of its own. [`Syncer::finish`] waits for every sync and reports the first failure; a
/// package is sealed only after it.
pub(crate) struct Syncer {
    /// The package directory: what a failure of the thread itself names.
    dir: PathBuf,
    tx: Option<mpsc::Sender<(File, PathBuf)>>,
    thread: Option<JoinHandle<Result<(), PackageError>>>,
    /// A sync done here because the thread was gone, and how it failed.
    inline: Result<(), PackageError>,
}

impl Syncer {
    pub(crate) fn new(dir: &std::path::Path) -> Self {
        let (tx, rx) = mpsc::channel::<(File, PathBuf)>();
        let thread = std::thread::Builder::new()
            .name("dltrs-sync".into())
            .spawn(move || {
                let mut result = Ok(());
                for (file, path) in rx {
                    if result.is_ok() {
                        result = file.sync_all().map_err(|e| PackageError::io(&path, e));
                    }
                }
                result
            })
            .ok();
        Syncer {
            dir: dir.to_path_buf(),
            tx: thread.is_some().then_some(tx),
            thread,
            inline: Ok(()),
        }
    }

    /// Syncs `file` (at `path`, named in errors) in the background.
    pub(crate) fn sync(&mut self, file: File, path: PathBuf) {
        let unsent = match &self.tx {
            Some(tx) => tx.send((file, path)).err().map(|mpsc::SendError(job)| job),
            None => Some((file, path)),
        };
        if let Some((file, path)) = unsent
            && self.inline.is_ok()
        {
            self.inline = file.sync_all().map_err(|e| PackageError::io(&path, e));
        }
    }

    /// Flushes `writer` and starts syncing what it wrote so far, when `written` bytes have
    /// gone into it since the last such sync (then `written` starts again from 0).
    pub(crate) fn sync_part(
        &mut self,
        writer: &mut std::io::BufWriter<File>,
        path: &std::path::Path,
        written: &mut u64,
    ) -> Result<(), PackageError> {
        if *written < SYNC_EVERY_BYTES {
            return Ok(());
        }
        *written = 0;
        writer.flush().map_err(|e| PackageError::io(path, e))?;
        let clone = writer
            .get_ref()
            .try_clone()
            .map_err(|e| PackageError::io(path, e))?;
        self.sync(clone, path.to_path_buf());
        Ok(())
    }

    /// Waits for every sync; the first failure. Later files are synced where they are handed
    /// over.
    pub(crate) fn finish(&mut self) -> Result<(), PackageError> {
        self.tx = None;
        let background = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(PackageError::Internal(format!(
                "the thread syncing the files of {} panicked",
                self.dir.display()
            ))),
            None => Ok(()),
        };
        std::mem::replace(&mut self.inline, Ok(())).and(background)
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_handed_over_are_synced_before_finish_returns() {
        let dir = tempfile::tempdir().unwrap();
        let mut syncer = Syncer::new(dir.path());
        let path = dir.path().join("a");
        let mut writer = std::io::BufWriter::new(File::create(&path).unwrap());
        let mut written = 0;
        for _ in 0..3 {
            writer.write_all(&vec![b'x'; 8 << 20]).unwrap();
            written += 8 << 20;
            syncer.sync_part(&mut writer, &path, &mut written).unwrap();
        }
        // one part sync after 16 MB: 8 MB written since
        assert_eq!(written, 8 << 20);
        let file = writer.into_inner().unwrap();
        syncer.sync(file, path.clone());
        syncer.finish().unwrap();
        // after finish, files are synced in place
        syncer.sync(File::open(&path).unwrap(), path.clone());
        syncer.finish().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24 << 20);
    }
}
