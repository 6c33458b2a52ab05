//! Durable file writes.
//!
//! Every write of a project file goes through [`write_atomic`]: a temporary
//! file in the same folder, fsync, rename over the target, fsync the folder.
//! A reader (or a crash) sees the old bytes or the new bytes, never a mix.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Prefix of every temporary file the packer creates beside a project file, so
/// that a crash's leftovers can be recognised and removed on the next open.
pub const TEMP_PREFIX: &str = ".packer-tmp-";

/// Replaces `path` with `bytes` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // A new file gets the usual 0644 (tempfile's own default, 0600, would
    // hide a committed file from others).
    write_atomic_new_mode(path, bytes, 0o644)
}

/// [`write_atomic`], giving a new file `new_mode` (the packer's own records
/// under `.packer/` are 0600); a replaced file keeps its mode.
pub fn write_atomic_new_mode(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent_dir(path);
    let mode =
        fs::symlink_metadata(path).ok().filter(|m| m.is_file()).map_or(new_mode, |m| m.permissions().mode() & 0o7777);
    let mut tmp =
        tempfile::Builder::new().prefix(TEMP_PREFIX).permissions(fs::Permissions::from_mode(mode)).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    crate::fault::point("temporary file synced, not yet renamed");
    tmp.persist(path).map_err(|e| e.error)?;
    crate::fault::point("renamed over the target, folder not yet synced");
    sync_dir(dir)
}

/// Replaces `path` with `bytes` atomically but without syncing: for the
/// packer's own caches and reference copies under `.packer/`, whose loss
/// costs time or a detection, never data. A reader sees the old bytes or
/// the new ones.
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(parent_dir(path))?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A file being written that is to be synced at the end: every
/// `WRITE_BEHIND` bytes, the kernel is asked to start writing what came
/// before (`sync_file_range`, which does not wait), so that the disk works
/// while the rest is produced and the final `fsync` has little left to do.
/// Without it a large file sits dirty in memory until that `fsync`, which
/// then writes all of it at once (a 1.2 GB pack: seconds spent only waiting).
pub struct WriteBehind<'a> {
    file: &'a File,
    written: u64,
    started: u64,
}

const WRITE_BEHIND: u64 = 8 << 20;

impl<'a> WriteBehind<'a> {
    pub fn new(file: &'a File) -> Self {
        WriteBehind { file, written: 0, started: 0 }
    }
}

impl Write for WriteBehind<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&mut &*self.file).write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITE_BEHIND {
            use std::os::fd::AsRawFd;
            let (offset, len) = (self.started as i64, (self.written - self.started) as i64);
            // SAFETY: a plain system call on an open descriptor; it changes no memory.
            // Best effort: where it fails, the final fsync writes everything, as without it.
            let _ = unsafe { libc::sync_file_range(self.file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Makes a rename or a removal inside `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes temporary files that a killed process left in `dir` (not recursive).
/// Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(format!("{TEMP_PREFIX}abc")), b"x").unwrap();
        fs::write(dir.path().join("keep"), b"x").unwrap();
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert!(dir.path().join("keep").exists());
    }
}
