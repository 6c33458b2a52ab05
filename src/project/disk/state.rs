//! The packer's own state folder, `.packer/`, checked before anything is
//! written in it.
//!
//! The packer deletes, truncates, renames and chmods inside `.packer/`, so a
//! link there would turn those writes into writes outside the project. A
//! repository or an archive can carry links (git stores them), so the folder
//! is looked at whole before the first write of a process: `.packer` itself
//! and everything beneath it must be plain folders and files (and the
//! owner's socket) belonging to this user. Anything else is refused with the
//! path named, never written through and never repaired silently: the
//! packer's state is rebuilt from the project when the folder is removed.
//!
//! Once checked, the folder is 0700 and ours, so no other user can plant
//! anything in it afterwards. The files the packer creates in it are
//! created with explicit modes (0700 folders, 0600 files), whatever the
//! umask.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The packer's local folder inside a project.
pub const STATE_DIR: &str = ".packer";

/// Mode of `.packer/` and of every folder the packer makes in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the packer makes in `.packer/`.
pub const FILE_MODE: u32 = 0o600;

/// The one socket the state folder may hold, relative to it.
const OWNER_SOCKET: &str = "owner/owner.sock";

/// Why a state folder is not used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}; the packer never writes through it (remove it: the packer rebuilds its state folder)")]
pub struct Refused {
    /// The offending path, as the user would find it.
    pub path: String,
    pub problem: String,
}

/// Makes sure `root/.packer` is a state folder the packer may write in:
/// creates it (0700) when absent, refuses it when it, or anything in it, is
/// not what the packer makes, and takes group and other access away from it.
/// Returns its path.
pub fn prepare(root: &Path) -> Result<PathBuf, Refused> {
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
    check(&dir)?;
    // `check` saw a real folder of ours; the mode change goes through a
    // handle opened without following links, so a swap in between cannot
    // redirect it.
    let handle = open_dir_nofollow(&dir).map_err(|e| refused(&dir, format!("cannot open it: {e}")))?;
    let meta = handle.metadata().map_err(|e| refused(&dir, e.to_string()))?;
    if meta.mode() & 0o7777 != DIR_MODE {
        handle
            .set_permissions(std::fs::Permissions::from_mode(DIR_MODE))
            .map_err(|e| refused(&dir, format!("cannot make it private: {e}")))?;
    }
    Ok(dir)
}

/// For readers that write nothing (`studio-packer check`): `Ok(Some(dir))`
/// when the state folder may be read, `Ok(None)` when there is none, the
/// same refusal as [`prepare`] otherwise. Creates and changes nothing.
pub fn inspect(root: &Path) -> Result<Option<PathBuf>, Refused> {
    let dir = root.join(STATE_DIR);
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(refused(&dir, format!("cannot look at it: {e}"))),
        Ok(_) => check(&dir).map(|()| Some(dir)),
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

fn open_dir_nofollow(dir: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

/// Looks at the state folder and everything beneath it without following a
/// link: each entry must be a folder or a plain file (or the owner's socket)
/// of this user.
fn check(dir: &Path) -> Result<(), Refused> {
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Removed since the listing (a temporary file of a running owner).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path != dir => continue,
            Err(e) => return Err(refused(&path, format!("cannot look at it: {e}"))),
        };
        let kind = meta.file_type();
        if path == dir && !kind.is_dir() && !kind.is_symlink() {
            return Err(refused(&path, "is not a folder".into()));
        }
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            return Err(refused(&path, format!("is a symlink (to `{target}`)")));
        }
        let socket_allowed = path.strip_prefix(dir).is_ok_and(|rel| rel == Path::new(OWNER_SOCKET));
        if !(kind.is_dir() || kind.is_file() || (kind.is_socket() && socket_allowed)) {
            return Err(refused(&path, format!("is a {}, not a folder or a plain file", describe(kind))));
        }
        if meta.uid() != uid {
            return Err(refused(&path, format!("belongs to another user (uid {})", meta.uid())));
        }
        if kind.is_dir() {
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && path != dir => continue,
                Err(e) => return Err(refused(&path, format!("cannot list it: {e}"))),
            };
            for entry in entries {
                let entry = entry.map_err(|e| refused(&path, format!("cannot list it: {e}")))?;
                pending.push(entry.path());
            }
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
        let dir = prepare(root.path()).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o7777, DIR_MODE);
        // Again, with what a packer leaves in it.
        create_dir_all(&dir.join("cache/segments")).unwrap();
        open_options().write(true).create(true).truncate(false).open(dir.join("events.jsonl")).unwrap();
        prepare(root.path()).unwrap();
        assert_eq!(std::fs::metadata(dir.join("events.jsonl")).unwrap().mode() & 0o777, FILE_MODE);
    }

    #[test]
    fn an_open_state_folder_is_made_private() {
        let (root, _) = project();
        let dir = root.path().join(STATE_DIR);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        prepare(root.path()).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o7777, DIR_MODE);
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
