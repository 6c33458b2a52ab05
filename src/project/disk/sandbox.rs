//! The project folder as an open directory handle: the one way the packer
//! touches an asset's file.
//!
//! Every path is resolved from the root's handle, never by joining strings:
//! `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` refuses `..`,
//! absolute paths and any symlink on the way in one system call, so a path
//! reaches nothing outside the root whatever it says, and whatever is
//! swapped in on disk between a check and the use (the check and the use are
//! the same call). Where `openat2` is missing (Linux before 5.6, or a
//! seccomp filter that answers ENOSYS) the same walk is done one segment at
//! a time with `openat(O_NOFOLLOW)`. Renames are `renameat2` between two
//! directory handles, with `RENAME_NOREPLACE` where someone's file may have
//! appeared at the target.
//!
//! Symlinks are refused even when they stay inside the project: the
//! registry names files, and two names for one file would split its identity.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RenameFlags, ResolveFlags};
use rustix::io::Errno;

/// Set once `openat2` answered ENOSYS: every later open walks instead.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// What is at a path, not following a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device: never an asset.
    Other,
}

/// What `stat` says of a file, as far as the packer compares it: a file
/// whose size, modification time and inode are unchanged is taken to be
/// unchanged (see `statcache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStat {
    pub size: u64,
    /// Nanoseconds since the epoch (an `i64` lasts until 2262; a time
    /// beyond saturates, which only makes the file look changed).
    pub mtime_ns: i64,
    pub ino: u64,
}

impl FileStat {
    pub fn of(meta: &std::fs::Metadata) -> FileStat {
        use std::os::unix::fs::MetadataExt;
        FileStat {
            size: meta.len(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
            ino: meta.ino(),
        }
    }

    #[allow(clippy::unnecessary_cast)] // the field types differ between architectures
    fn of_raw(st: &rfs::Stat) -> FileStat {
        FileStat {
            size: st.st_size as u64,
            mtime_ns: (st.st_mtime as i64).saturating_mul(1_000_000_000).saturating_add(st.st_mtime_nsec as i64),
            ino: st.st_ino as u64,
        }
    }
}

/// One thing [`Sandbox::walk`] found.
#[derive(Debug)]
pub enum Found {
    /// A regular file and its stat.
    File { rel: String, stat: FileStat },
    /// A symlink (never followed).
    Symlink { rel: String },
    /// A folder or an entry that could not be read.
    Unreadable { rel: String, error: io::Error },
    /// A name that is not UTF-8, in the folder `dir`.
    NotUtf8 { dir: String, name: Vec<u8> },
}

/// Why [`Sandbox::rename`] failed.
#[derive(Debug)]
pub enum RenameError {
    /// Nothing was renamed.
    NotRenamed(io::Error),
    /// Renamed, but the folders could not be synced.
    NotSynced(io::Error),
}

impl RenameError {
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            RenameError::NotRenamed(e) | RenameError::NotSynced(e) => e.kind(),
        }
    }
}

impl From<RenameError> for io::Error {
    fn from(e: RenameError) -> io::Error {
        match e {
            RenameError::NotRenamed(e) => e,
            RenameError::NotSynced(e) => io::Error::new(e.kind(), format!("renamed, but not made durable: {e}")),
        }
    }
}

/// An open project root.
#[derive(Debug)]
pub struct Sandbox {
    root: OwnedFd,
    path: PathBuf,
}

fn refused(rel: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("`{rel}`: {why}"))
}

/// The segments of a project-relative path; anything that could name a
/// place outside the root (or the root itself) is refused here, before any
/// system call.
fn segments(rel: &str) -> io::Result<Vec<&str>> {
    if rel.is_empty() || rel.starts_with('/') {
        return Err(refused(rel, "not a relative path inside the project"));
    }
    if rel.contains('\0') {
        return Err(refused(&rel.replace('\0', "\\0"), "contains a NUL byte"));
    }
    let segs: Vec<&str> = rel.split('/').collect();
    if segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(refused(rel, "has an empty, `.` or `..` segment"));
    }
    Ok(segs)
}

/// Why resolving failed, said for people.
fn explain(rel: &str, e: Errno) -> io::Error {
    match e {
        Errno::LOOP => refused(rel, "goes through a symlink, which the packer does not follow"),
        Errno::XDEV => refused(rel, "leads outside the project"),
        Errno::NOTDIR => {
            io::Error::new(io::ErrorKind::NotFound, format!("`{rel}`: a folder on the way is not a folder"))
        }
        e => io::Error::from(e),
    }
}

/// `O_DIRECTORY | O_NOFOLLOW` on a symlink fails ENOTDIR; say ELOOP, which
/// is what it is.
fn symlink_is_loop(base: BorrowedFd<'_>, seg: &str, e: Errno) -> Errno {
    if e == Errno::NOTDIR
        && rfs::statat(base, seg, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
    {
        Errno::LOOP
    } else {
        e
    }
}

fn split_last(rel: &str) -> (Option<&str>, &str) {
    match rel.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, rel),
    }
}

impl Sandbox {
    /// Opens the project root (an absolute, canonical path).
    pub fn open(root: &Path) -> io::Result<Sandbox> {
        let fd = rfs::open(root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            // Some seccomp filters (older container runtimes) answer EPERM
            // rather than ENOSYS for a system call they do not know.
            let probe = rfs::openat2(&fd, ".", OFlags::PATH | OFlags::CLOEXEC, Mode::empty(), ResolveFlags::BENEATH);
            if matches!(probe, Err(Errno::NOSYS) | Err(Errno::PERM)) {
                tracing::info!("openat2 is not available here; resolving paths one segment at a time");
                NO_OPENAT2.store(true, Ordering::Relaxed);
            }
        }
        Ok(Sandbox { root: fd, path: root.to_path_buf() })
    }

    /// The root's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `rel` beneath the root, refusing symlinks anywhere on the way.
    fn open_beneath(&self, rel: &str, flags: OFlags) -> io::Result<OwnedFd> {
        let segs = segments(rel)?;
        let flags = flags | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            for _ in 0..8 {
                match rfs::openat2(&self.root, rel, flags, Mode::empty(), resolve) {
                    // The kernel saw a rename race while resolving: try again.
                    Err(Errno::AGAIN) => continue,
                    Err(Errno::NOSYS) => {
                        NO_OPENAT2.store(true, Ordering::Relaxed);
                        break;
                    }
                    other => return other.map_err(|e| explain(rel, e)),
                }
            }
        }
        self.open_walk(&segs, flags).map_err(|e| explain(rel, e))
    }

    /// The fallback of [`Sandbox::open_beneath`]: one `openat(O_NOFOLLOW)`
    /// per segment, each from the handle of the one before.
    fn open_walk(&self, segs: &[&str], flags: OFlags) -> Result<OwnedFd, Errno> {
        let (last, dirs) = segs.split_last().expect("segments are never empty");
        let mut dir: Option<OwnedFd> = None;
        for seg in dirs {
            let base = dir.as_ref().map_or(self.root.as_fd(), |d| d.as_fd());
            // O_PATH: search permission is enough to pass through, as with openat2.
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            dir = Some(rfs::openat(base, *seg, flags, Mode::empty()).map_err(|e| symlink_is_loop(base, seg, e))?);
        }
        let base = dir.as_ref().map_or(self.root.as_fd(), |d| d.as_fd());
        rfs::openat(base, *last, flags, Mode::empty()).map_err(|e| symlink_is_loop(base, last, e))
    }

    /// Opens a folder beneath the root (a symlink there is refused, not
    /// taken for "not a folder").
    fn open_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let fd = self.open_beneath(rel, OFlags::RDONLY | OFlags::NONBLOCK)?;
        if FileType::from_raw_mode(rfs::fstat(&fd)?.st_mode) != FileType::Directory {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("`{rel}` is not a folder")));
        }
        Ok(fd)
    }

    /// A handle on the folder that holds `rel`, and `rel`'s last segment.
    fn parent<'a>(&self, rel: &'a str) -> io::Result<(Option<OwnedFd>, &'a str)> {
        segments(rel)?;
        match split_last(rel) {
            (None, name) => Ok((None, name)),
            (Some(dir), name) => Ok((Some(self.open_dir(dir)?), name)),
        }
    }

    fn fd<'a>(&'a self, parent: &'a Option<OwnedFd>) -> BorrowedFd<'a> {
        parent.as_ref().map_or(self.root.as_fd(), |d| d.as_fd())
    }

    /// Opens a regular file for reading. A symlink, a FIFO or a device is
    /// refused (opening is non-blocking, so a FIFO cannot hang the packer).
    pub fn open_file(&self, rel: &str) -> io::Result<File> {
        let fd = self.open_beneath(rel, OFlags::RDONLY | OFlags::NONBLOCK)?;
        let st = rfs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(refused(rel, "is not a regular file"));
        }
        // Regular files ignore O_NONBLOCK; clear it anyway for plain reads.
        rfs::fcntl_setfl(&fd, rfs::fcntl_getfl(&fd)? - OFlags::NONBLOCK)?;
        Ok(File::from(fd))
    }

    /// The whole content of a regular file.
    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        let mut f = self.open_file(rel)?;
        let mut bytes = Vec::with_capacity(f.metadata().map_or(0, |m| m.len() as usize));
        f.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The metadata of what is at `rel`, not following a symlink there (a
    /// symlink on the way is an error).
    pub fn metadata(&self, rel: &str) -> io::Result<std::fs::Metadata> {
        File::from(self.open_beneath(rel, OFlags::PATH)?).metadata()
    }

    /// Walks the folder `rel` and everything beneath it, one open folder
    /// handle at a time: each entry is looked at relative to its folder's
    /// handle, so the walk never follows a symlink and never leaves the root
    /// whatever is renamed meanwhile, and costs one `getdents` per folder and
    /// one `stat` per file (as `find` does). Folders whose path `skip_dir`
    /// accepts are not entered; FIFOs, sockets and devices are passed over.
    /// Order is unspecified.
    pub fn walk(&self, rel: &str, skip_dir: &dyn Fn(&str) -> bool, found: &mut dyn FnMut(Found)) -> io::Result<()> {
        // Folders waiting to be read are names under their parent's handle,
        // opened only when their turn comes: a folder with thousands of
        // subfolders holds one handle, not thousands (the open-file limit).
        let top = Arc::new(self.open_dir(rel)?);
        let mut stack: Vec<(String, Arc<OwnedFd>, Option<String>)> = vec![(rel.to_string(), top, None)];
        while let Some((dir_rel, parent, name)) = stack.pop() {
            let dir = match name {
                None => parent,
                Some(name) => {
                    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                    match rfs::openat(&*parent, name.as_str(), flags, Mode::empty()) {
                        Ok(fd) => Arc::new(fd),
                        Err(Errno::NOENT) => continue,
                        // Swapped for a symlink since its parent was read.
                        Err(Errno::NOTDIR) | Err(Errno::LOOP) => {
                            found(Found::Symlink { rel: dir_rel });
                            continue;
                        }
                        Err(e) => {
                            found(Found::Unreadable { rel: dir_rel, error: e.into() });
                            continue;
                        }
                    }
                }
            };
            // The listing reads through a duplicate; `dir` itself stays for
            // the `stat`s below and for opening the subfolders.
            let mut reader = match dir.try_clone().and_then(|fd| rfs::Dir::new(fd).map_err(io::Error::from)) {
                Ok(d) => d,
                Err(e) => {
                    found(Found::Unreadable { rel: dir_rel, error: e });
                    continue;
                }
            };
            while let Some(entry) = reader.read() {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        found(Found::Unreadable { rel: dir_rel.clone(), error: e.into() });
                        break;
                    }
                };
                let raw = entry.file_name().to_bytes();
                if raw == b"." || raw == b".." {
                    continue;
                }
                let Ok(name) = std::str::from_utf8(raw) else {
                    found(Found::NotUtf8 { dir: dir_rel.clone(), name: raw.to_vec() });
                    continue;
                };
                let child = format!("{dir_rel}/{name}");
                let mut kind = entry.file_type();
                let mut stat = None;
                // Files need their stat anyway; `Unknown` is what some file
                // systems report for everything.
                if kind == FileType::RegularFile || kind == FileType::Unknown {
                    match rfs::statat(&*dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => {
                            kind = FileType::from_raw_mode(st.st_mode);
                            stat = Some(FileStat::of_raw(&st));
                        }
                        // Removed since the folder was read.
                        Err(Errno::NOENT) => continue,
                        Err(e) => {
                            found(Found::Unreadable { rel: child, error: e.into() });
                            continue;
                        }
                    }
                }
                match kind {
                    FileType::RegularFile => {
                        found(Found::File { rel: child, stat: stat.expect("a file was stat'ed above") })
                    }
                    FileType::Symlink => found(Found::Symlink { rel: child }),
                    FileType::Directory if !skip_dir(&child) => {
                        stack.push((child, dir.clone(), Some(name.to_string())))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Creates a new file for writing (mode 0644); fails if anything is
    /// already at `rel`.
    pub fn create_new(&self, rel: &str) -> io::Result<File> {
        let (dir, name) = self.parent(rel)?;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(self.fd(&dir), name, flags, Mode::from_raw_mode(0o644)).map_err(|e| explain(rel, e))?;
        Ok(File::from(fd))
    }

    /// What is at `rel` (not following a symlink there), or `None`.
    pub fn entry(&self, rel: &str) -> io::Result<Option<Entry>> {
        let (parent, name) = match self.parent(rel) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match rfs::statat(self.fd(&parent), name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => Entry::File,
                FileType::Directory => Entry::Dir,
                FileType::Symlink => Entry::Symlink,
                _ => Entry::Other,
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(explain(rel, e)),
        }
    }

    /// Creates the folder `rel` and any missing folders above it, durably
    /// (the folder holding each one created is synced).
    pub fn create_dir_all(&self, rel: &str) -> io::Result<()> {
        let segs = segments(rel)?;
        let mut dir: Option<OwnedFd> = None;
        for seg in segs {
            let base = self.fd(&dir);
            match rfs::mkdirat(base, seg, Mode::from_raw_mode(0o755)) {
                Ok(()) => rfs::fsync(base).map_err(|e| explain(rel, e))?,
                Err(Errno::EXIST) => {}
                Err(e) => return Err(explain(rel, e)),
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            dir = Some(
                rfs::openat(base, seg, flags, Mode::empty())
                    .map_err(|e| explain(rel, symlink_is_loop(base, seg, e)))?,
            );
        }
        Ok(())
    }

    /// Creates the folders above `rel` that are missing (none for a file at
    /// the root).
    pub fn create_parent_dirs(&self, rel: &str) -> io::Result<()> {
        match split_last(rel) {
            (Some(dir), _) => self.create_dir_all(dir),
            (None, _) => Ok(()),
        }
    }

    /// Renames `from` to `to`, both beneath the root, and makes it durable
    /// (both folders synced). Unless `replace`, an existing `to` is never
    /// overwritten: the rename fails with `AlreadyExists`, atomically.
    ///
    /// [`RenameError::NotSynced`] means the rename happened but could not be
    /// made durable: a caller that undoes its steps must count it as done.
    pub fn rename(&self, from: &str, to: &str, replace: bool) -> Result<(), RenameError> {
        let not_renamed = RenameError::NotRenamed;
        let (from_dir, from_name) = self.parent(from).map_err(not_renamed)?;
        let (to_dir, to_name) = self.parent(to).map_err(not_renamed)?;
        let (a, b) = (self.fd(&from_dir), self.fd(&to_dir));
        let flags = if replace { RenameFlags::empty() } else { RenameFlags::NOREPLACE };
        let exists = || not_renamed(io::Error::new(io::ErrorKind::AlreadyExists, format!("`{to}` already exists")));
        match rfs::renameat_with(a, from_name, b, to_name, flags) {
            Ok(()) => {}
            // A file system without RENAME_NOREPLACE: check, then rename
            // (the packer holds the project's lock; only an outside writer
            // could race this, and that is divergence, not loss).
            Err(Errno::INVAL) if !replace => {
                if rfs::statat(b, to_name, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                    return Err(exists());
                }
                rfs::renameat(a, from_name, b, to_name).map_err(|e| not_renamed(explain(from, e)))?;
            }
            Err(Errno::EXIST) => return Err(exists()),
            Err(e) => return Err(not_renamed(explain(from, e))),
        }
        let synced =
            rfs::fsync(a).and_then(|()| if from_dir.is_some() || to_dir.is_some() { rfs::fsync(b) } else { Ok(()) });
        synced.map_err(|e| RenameError::NotSynced(io::Error::from(e)))
    }

    /// Makes the entries of the folder `rel` durable (an fsync of it).
    pub fn sync_dir(&self, rel: &str) -> io::Result<()> {
        let fd = self.open_dir(rel)?;
        rfs::fsync(&fd).map_err(|e| explain(rel, e))
    }

    /// Removes a file (never a folder, never through a symlink) durably.
    pub fn remove_file(&self, rel: &str) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        let fd = self.fd(&dir);
        rfs::unlinkat(fd, name, AtFlags::empty()).map_err(|e| explain(rel, e))?;
        rfs::fsync(fd)?;
        Ok(())
    }

    /// Removes an empty folder; anything else is left as it is.
    pub fn remove_empty_dir(&self, rel: &str) {
        if let Ok((dir, name)) = self.parent(rel) {
            let _ = rfs::unlinkat(self.fd(&dir), name, AtFlags::REMOVEDIR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Sandbox) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("assets/sub")).unwrap();
        std::fs::write(root.path().join("assets/a.txt"), b"inside").unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"outside").unwrap();
        symlink(outside.path(), root.path().join("assets/out")).unwrap();
        symlink(outside.path().join("secret.txt"), root.path().join("assets/link.txt")).unwrap();
        symlink("sub", root.path().join("assets/inner")).unwrap();
        let sb = Sandbox::open(&root.path().canonicalize().unwrap()).unwrap();
        (root, outside, sb)
    }

    #[test]
    fn reads_inside_and_refuses_every_way_out() {
        let (_root, _outside, sb) = setup();
        assert_eq!(sb.read("assets/a.txt").unwrap(), b"inside");
        for rel in [
            "assets/out/secret.txt",
            "assets/link.txt",
            "assets/inner/x",
            "../x",
            "assets/../../x",
            "/etc/passwd",
            "assets//a.txt",
            "./assets/a.txt",
            "a\0b",
            "",
        ] {
            assert!(sb.read(rel).is_err(), "{rel:?} was read");
        }
        assert_eq!(sb.entry("assets/link.txt").unwrap(), Some(Entry::Symlink));
        assert_eq!(sb.entry("assets/out").unwrap(), Some(Entry::Symlink));
        assert!(sb.entry("assets/out/secret.txt").is_err());
        assert_eq!(sb.entry("assets/nothing/here").unwrap(), None);
    }

    #[test]
    fn the_walk_refuses_what_openat2_refuses() {
        let (_root, _outside, sb) = setup();
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        assert!(sb.open_walk(&["assets", "a.txt"], flags).is_ok());
        assert_eq!(sb.open_walk(&["assets", "out", "secret.txt"], flags).unwrap_err(), Errno::LOOP);
        assert_eq!(sb.open_walk(&["assets", "link.txt"], flags).unwrap_err(), Errno::LOOP);
        assert_eq!(sb.open_walk(&["assets", "inner", "x"], flags).unwrap_err(), Errno::LOOP);
    }

    #[test]
    fn renames_never_replace_unless_asked_and_never_leave_the_root() {
        let (root, outside, sb) = setup();
        std::fs::write(root.path().join("assets/b.txt"), b"someone's").unwrap();
        let e = sb.rename("assets/a.txt", "assets/b.txt", false).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(root.path().join("assets/b.txt")).unwrap(), b"someone's");
        assert!(sb.rename("assets/a.txt", "assets/out/stolen.txt", false).is_err());
        assert!(!outside.path().join("stolen.txt").exists());
        assert!(sb.create_dir_all("assets/out/new").is_err());
        assert!(!outside.path().join("new").exists());
        sb.create_dir_all("assets/x/y").unwrap();
        sb.rename("assets/a.txt", "assets/x/y/a.txt", false).unwrap();
        assert_eq!(std::fs::read(root.path().join("assets/x/y/a.txt")).unwrap(), b"inside");
        assert!(sb.remove_file("assets/out/secret.txt").is_err());
        assert!(outside.path().join("secret.txt").exists());
        // Removing a symlink removes the link, never its target.
        sb.remove_file("assets/link.txt").unwrap();
        assert!(outside.path().join("secret.txt").exists());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let (root, _outside, sb) = setup();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.path().join("assets/pipe"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(sb.read("assets/pipe").is_err());
        assert_eq!(sb.entry("assets/pipe").unwrap(), Some(Entry::Other));
    }
}
