//! The packer's own state folder, `.packer/`, checked before anything is
//! written in it.
//!
//! The packer deletes, truncates, renames and chmods inside `.packer/`, so a
//! link there would turn those writes into writes outside the project. A
//! repository or an archive can carry links (git stores them), so the folder
//! is looked at whole before the first write of a process, and again before
//! each build or prune (a checkout made while a packer runs can bring one):
//! `.packer` itself and everything beneath it must be plain folders and
//! files (and the owner's socket) belonging to this user. Anything else is
//! refused with the path named, never written through and never repaired
//! silently: the packer's state is rebuilt from the project when what is
//! named is removed. Files a delete parked (`trash/`, `recovered/`) keep the
//! owner they had in the project, so those may be another user's.
//!
//! Each folder is made private (0700) before it is listed, so nothing can be
//! planted in a folder after it was looked at; and the folder is then used
//! through a handle held open ([`StateDir`]), so swapping `.packer` itself
//! for something else later changes nothing the packer writes. Files the
//! packer creates in it are 0600, folders 0700, whatever the umask.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The packer's local folder inside a project.
pub const STATE_DIR: &str = ".packer";

/// Mode of `.packer/` and of every folder the packer makes in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the packer makes in `.packer/`.
pub const FILE_MODE: u32 = 0o600;

/// The one socket the state folder may hold, relative to it.
const OWNER_SOCKET: &str = "owner/owner.sock";
/// Folders whose files a delete parked: they keep their owner.
const PARKED: &[&str] = &["trash", "recovered"];

/// Why a state folder is not used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}; the packer never writes through it (remove it: the packer rebuilds its state)")]
pub struct Refused {
    /// The offending path, as the user would find it.
    pub path: String,
    pub problem: String,
}

/// A checked state folder, held open: [`StateDir::path`] names the folder
/// that was checked, whatever `.packer` is replaced with later.
#[derive(Debug)]
pub struct StateDir {
    /// Held open for as long as `path` names the folder through it.
    _handle: File,
    path: PathBuf,
    shown: PathBuf,
}

impl StateDir {
    /// The folder, for path-based file operations: through the handle
    /// (`/proc/self/fd/N`) wherever /proc is mounted.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Looks at the folder whole again (before a build or a prune, which
    /// delete and write in its subfolders).
    pub fn recheck(&self) -> Result<(), Refused> {
        check(&self.path, &self.shown, true, self.path != self.shown)
    }
}

/// Makes sure `root/.packer` is a state folder the packer may write in:
/// creates it (0700) when absent, refuses it when it, or anything in it, is
/// not what the packer makes, and takes group and other access away from
/// its folders. Returns it held open.
pub fn prepare(root: &Path) -> Result<StateDir, Refused> {
    let dir = root.join(STATE_DIR);
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new().mode(DIR_MODE).create(&dir).or_else(|e| {
                // Another process of ours made it in between: check it as found.
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Ok(())
                } else {
                    Err(refused(&dir, format!("cannot create it: {e}")))
                }
            })?;
        }
        Err(e) => return Err(refused(&dir, format!("cannot look at it: {e}"))),
        Ok(_) => {}
    }
    let handle = match open_dir_nofollow(&dir) {
        Ok(h) => h,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::ENOTDIR) => {
            // Named as the walk would name it (a link, a file...).
            check(&dir, &dir, false, false)?;
            return Err(refused(&dir, "is not a folder".into()));
        }
        Err(e) => return Err(refused(&dir, format!("cannot open it: {e}"))),
    };
    let through = PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd()));
    let path = if through.is_dir() { through } else { dir.clone() };
    check(&path, &dir, true, path != dir)?;
    Ok(StateDir { _handle: handle, path, shown: dir })
}

/// For readers that write nothing (`studio-packer check`): `Ok(Some(dir))`
/// when the state folder may be read, `Ok(None)` when there is none, the
/// same refusal as [`prepare`] otherwise. Creates and changes nothing.
pub fn inspect(root: &Path) -> Result<Option<PathBuf>, Refused> {
    let dir = root.join(STATE_DIR);
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(refused(&dir, format!("cannot look at it: {e}"))),
        Ok(_) => check(&dir, &dir, false, false).map(|()| Some(dir)),
    }
}

/// Creates a folder in the state folder (and its parents) with [`DIR_MODE`].
pub fn create_dir_all(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)
}

/// Options to open a file of the state folder: never through a link, and
/// created with [`FILE_MODE`].
pub fn open_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    options
}

fn open_dir_nofollow(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

/// Looks at the state folder `dir` (shown to people as `shown`) and
/// everything beneath it, top down, without following a link: each entry
/// must be a folder or a plain file (or the owner's socket) of this user.
/// With `private`, each folder is made 0700 through a handle before it is
/// listed, so nothing can be added to it once it has been looked at.
/// `through_handle`: `dir` is `/proc/self/fd/N` of a folder opened without
/// following a link, a link by nature that is followed to that folder.
fn check(dir: &Path, shown: &Path, private: bool, through_handle: bool) -> Result<(), Refused> {
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let top = rel.as_os_str().is_empty();
        // (Joining an empty path would add a `/`, and a trailing `/` follows a link.)
        let path = if top { dir.to_path_buf() } else { dir.join(&rel) };
        let show = || if top { shown.to_path_buf() } else { shown.join(&rel) };
        let look = if top && through_handle { std::fs::metadata } else { std::fs::symlink_metadata };
        let meta = match look(&path) {
            Ok(m) => m,
            // Removed since the listing (a temporary file of a running owner).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !rel.as_os_str().is_empty() => continue,
            Err(e) => return Err(refused(&show(), format!("cannot look at it: {e}"))),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            return Err(refused(&show(), format!("is a symlink (to `{target}`)")));
        }
        if rel.as_os_str().is_empty() && !kind.is_dir() {
            return Err(refused(&show(), "is not a folder".into()));
        }
        let socket_allowed = rel == Path::new(OWNER_SOCKET);
        if !(kind.is_dir() || kind.is_file() || (kind.is_socket() && socket_allowed)) {
            return Err(refused(&show(), format!("is a {}, not a folder or a plain file", describe(kind))));
        }
        let parked = rel.components().next().is_some_and(|c| PARKED.iter().any(|p| c.as_os_str() == *p));
        if meta.uid() != uid && !(parked && kind.is_file()) {
            return Err(refused(&show(), format!("belongs to another user (uid {})", meta.uid())));
        }
        if !kind.is_dir() {
            continue;
        }
        let opened = if top && through_handle { File::open(&path) } else { open_dir_nofollow(&path) };
        let folder = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !rel.as_os_str().is_empty() => continue,
            Err(e) => return Err(refused(&show(), format!("cannot open it: {e}"))),
        };
        // What was opened is what was looked at, and ours.
        let opened = folder.metadata().map_err(|e| refused(&show(), e.to_string()))?;
        if opened.ino() != meta.ino() || opened.dev() != meta.dev() || opened.uid() != uid {
            return Err(refused(&show(), "changed while it was looked at".into()));
        }
        if private && opened.mode() & 0o7777 != DIR_MODE {
            folder
                .set_permissions(std::fs::Permissions::from_mode(DIR_MODE))
                .map_err(|e| refused(&show(), format!("cannot make it private: {e}")))?;
        }
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !rel.as_os_str().is_empty() => continue,
            Err(e) => return Err(refused(&show(), format!("cannot list it: {e}"))),
        };
        for entry in entries {
            let entry = entry.map_err(|e| refused(&show(), format!("cannot list it: {e}")))?;
            pending.push(rel.join(entry.file_name()));
        }
    }
    Ok(())
}

fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

fn refused(path: &Path, problem: String) -> Refused {
    Refused { path: path.display().to_string(), problem }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn project() -> (tempfile::TempDir, tempfile::TempDir) {
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap())
    }

    #[test]
    fn an_absent_state_folder_is_created_private() {
        let (root, _) = project();
        let _state = prepare(root.path()).unwrap();
        let dir = root.path().join(STATE_DIR);
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o7777, DIR_MODE);
        // Again, with what a packer leaves in it.
        create_dir_all(&dir.join("cache/segments")).unwrap();
        open_options().write(true).create(true).truncate(false).open(dir.join("events.jsonl")).unwrap();
        prepare(root.path()).unwrap();
        assert_eq!(std::fs::metadata(dir.join("events.jsonl")).unwrap().mode() & 0o777, FILE_MODE);
    }

    #[test]
    fn an_open_state_folder_and_its_folders_are_made_private() {
        let (root, _) = project();
        let dir = root.path().join(STATE_DIR);
        std::fs::create_dir_all(dir.join("cache/segments")).unwrap();
        for d in [&dir, &dir.join("cache"), &dir.join("cache/segments")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        prepare(root.path()).unwrap();
        for d in [&dir, &dir.join("cache"), &dir.join("cache/segments")] {
            assert_eq!(std::fs::metadata(d).unwrap().mode() & 0o7777, DIR_MODE, "{}", d.display());
        }
    }

    #[test]
    fn the_folder_checked_is_the_one_written_even_when_packer_is_swapped_later() {
        let (root, outside) = project();
        let state = prepare(root.path()).unwrap();
        let dir = root.path().join(STATE_DIR);
        std::fs::rename(&dir, root.path().join("moved-aside")).unwrap();
        symlink(outside.path(), &dir).unwrap();
        std::fs::write(state.path().join("statcache.bin"), b"x").unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(root.path().join("moved-aside/statcache.bin").exists());
        // And the next look at it refuses the link.
        assert!(prepare(root.path()).is_err());
    }

    #[test]
    fn a_link_brought_in_while_running_is_refused_by_the_next_look() {
        let (root, outside) = project();
        let state = prepare(root.path()).unwrap();
        symlink(outside.path(), root.path().join(".packer/cache")).unwrap();
        let err = state.recheck().unwrap_err();
        assert_eq!(err.path, root.path().join(".packer/cache").display().to_string());
    }

    #[test]
    #[ignore = "needs root: gives a file to another user (scripts/test.sh runs it as root)"]
    fn a_parked_file_of_another_user_is_accepted_but_not_elsewhere() {
        // SAFETY: geteuid cannot fail.
        assert_eq!(unsafe { libc::geteuid() }, 0, "needs root: only root can give a file to another user");
        let (root, _) = project();
        let dir = root.path().join(STATE_DIR);
        std::fs::create_dir_all(dir.join("trash/op-1")).unwrap();
        std::fs::write(dir.join("trash/op-1/0"), b"someone's file, being deleted").unwrap();
        std::os::unix::fs::chown(dir.join("trash/op-1/0"), Some(12345), None).unwrap();
        prepare(root.path()).unwrap();
        std::fs::write(dir.join("statcache.bin"), b"x").unwrap();
        std::os::unix::fs::chown(dir.join("statcache.bin"), Some(12345), None).unwrap();
        assert!(prepare(root.path()).unwrap_err().problem.contains("another user"));
    }

    #[test]
    fn a_link_anywhere_in_the_state_folder_is_refused_and_its_target_untouched() {
        for at in [".packer", ".packer/cache", ".packer/cache/segments", ".packer/events.jsonl", ".packer/owner"] {
            let (root, outside) = project();
            std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let link = root.path().join(at);
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            symlink(outside.path(), &link).unwrap();
            let err = prepare(root.path()).unwrap_err();
            assert_eq!(err.path, link.display().to_string(), "{at}");
            assert!(err.problem.contains("is a symlink"), "{at}: {err}");
            assert!(inspect(root.path()).is_err(), "{at}");
            assert_eq!(std::fs::metadata(outside.path()).unwrap().mode() & 0o7777, 0o755, "{at}");
            assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "{at}");
        }
    }

    #[test]
    fn a_fifo_is_refused_and_inspect_changes_nothing() {
        let (root, _) = project();
        let dir = root.path().join(STATE_DIR);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(inspect(root.path()).unwrap(), Some(dir.clone()));
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o7777, 0o755);
        let fifo = dir.join("owner.lock");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from(0o600), 0)
            .unwrap();
        let err = prepare(root.path()).unwrap_err();
        assert!(err.problem.contains("FIFO"), "{err}");
        assert_eq!(inspect(tempfile::tempdir().unwrap().path()).unwrap(), None);
    }

    #[test]
    fn a_file_where_the_folder_belongs_is_refused() {
        let (root, _) = project();
        std::fs::write(root.path().join(STATE_DIR), b"not a folder").unwrap();
        let err = prepare(root.path()).unwrap_err();
        assert!(err.to_string().contains(".packer"), "{err}");
    }
}
