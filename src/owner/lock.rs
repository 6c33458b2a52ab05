//! The owner lock: an exclusive `flock` on `.packer/owner.lock`.
//!
//! The kernel releases the lock when the process dies, however it dies, so
//! a crash never leaves a stale owner behind. The file holds the owner's pid
//! for people looking at it; nothing trusts that text for correctness.

use std::fs::{File, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// Held while this process owns a project; dropping it releases ownership.
#[derive(Debug)]
pub struct OwnerLock {
    file: File,
}

impl OwnerLock {
    /// Takes the lock if no live process holds it. `Ok(None)`: someone owns it.
    /// The state folder must have been checked (`project::state::prepare`);
    /// the file itself is never opened through a link.
    pub fn try_acquire(path: &Path) -> std::io::Result<Option<OwnerLock>> {
        let mut file = crate::project::disk::state::open_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(file, "{}", std::process::id())?;
        Ok(Some(OwnerLock { file }))
    }

    /// Releases the lock explicitly (dropping does the same).
    pub fn release(self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_fails_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".packer/owner.lock");
        crate::project::disk::state::prepare(dir.path()).unwrap();
        let first = OwnerLock::try_acquire(&path).unwrap().expect("free");
        // flock is per open file description: a second open in this process conflicts too.
        assert!(OwnerLock::try_acquire(&path).unwrap().is_none());
        first.release();
        assert!(OwnerLock::try_acquire(&path).unwrap().is_some());
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), std::process::id().to_string());
    }
}
