//! The owner's Unix socket: where it lives, who may connect, and whom a
//! process attaching may talk to.
//!
//! The socket is always `.packer/owner/owner.sock`, inside the project's own
//! state folder (0700, checked by `project::state`). A socket address holds
//! at most 108 bytes, so a project deeper than that is reached through a
//! handle on the socket's folder (`/proc/self/fd/N/owner.sock`) rather than
//! through a folder shared by every user such as `/tmp`: a name there can be
//! taken first by someone else (a link to a folder of root's that the
//! packer would chmod, a link to a folder with their own listener, or a
//! folder that blocks the name). Both ends check the other's user id.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};

/// `sun_path` holds 108 bytes on Linux, including the final NUL.
const MAX_SOCKET_PATH: usize = 100;
const FOLDER: &str = "owner";
const NAME: &str = "owner.sock";

/// Where the socket of the project at `root` (canonical) is, for people.
pub fn socket_path(root: &Path) -> PathBuf {
    root.join(crate::project::disk::state::STATE_DIR).join(FOLDER).join(NAME)
}

/// The socket's folder, held open, and the address that names the socket
/// in it for `bind` and `connect`.
#[derive(Debug)]
pub struct Address {
    folder: OwnedFd,
    address: PathBuf,
    shown: PathBuf,
}

impl Address {
    fn of(root: &Path, folder: OwnedFd) -> std::io::Result<Address> {
        let shown = socket_path(root);
        // Through the folder's handle wherever /proc is mounted: the address
        // is short and names the folder checked, whatever its path is now.
        let through_handle = PathBuf::from(format!("/proc/self/fd/{}", folder.as_raw_fd()));
        let address = if through_handle.is_dir() {
            through_handle.join(NAME)
        } else if shown.as_os_str().len() <= MAX_SOCKET_PATH {
            shown.clone()
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{}: too long for a socket address, and /proc is not mounted", shown.display()),
            ));
        };
        Ok(Address { folder, address, shown })
    }

    /// The socket's path as a person would find it.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// Removes the socket file (a dead owner's, or ours when we stop).
    pub fn remove(&self) {
        let _ = rustix::fs::unlinkat(&self.folder, NAME, AtFlags::empty());
    }

    /// Connects without checks: only the owner uses it, to wake its own
    /// accept loop.
    pub fn poke(&self) {
        let _ = UnixStream::connect(&self.address);
    }
}

/// Binds the owner's socket of the project at `root`, whose state folder
/// has been checked. A socket file already there is a dead owner's (the
/// caller holds the lock) and is replaced.
pub fn listen(root: &Path) -> std::io::Result<(UnixListener, Address)> {
    let state = open_beneath(CWD, &root.join(crate::project::disk::state::STATE_DIR), OFlags::RDONLY)?;
    match rustix::fs::mkdirat(&state, FOLDER, Mode::from(crate::project::disk::state::DIR_MODE)) {
        Err(rustix::io::Errno::EXIST) | Ok(()) => {}
        Err(e) => return Err(e.into()),
    }
    let folder = open_beneath(&state, Path::new(FOLDER), OFlags::RDONLY)?;
    let shown = socket_path(root);
    ours(&rustix::fs::fstat(&folder)?, shown.parent().unwrap_or(root))?;
    rustix::fs::fchmod(&folder, Mode::from(crate::project::disk::state::DIR_MODE))?;
    let address = Address::of(root, folder)?;
    address.remove();
    let listener = UnixListener::bind(&address.address)?;
    rustix::fs::chmodat(&address.folder, NAME, Mode::from(0o600), AtFlags::empty())?;
    Ok((listener, address))
}

/// Connects to the owner of the project at `root`: only through a socket
/// folder that is this user's and private, to a socket of this user's, and
/// only when the process listening runs as this user. `NotFound` (or
/// `ConnectionRefused`) when no owner listens.
pub fn connect(root: &Path) -> std::io::Result<UnixStream> {
    let shown = socket_path(root);
    let state = open_beneath(CWD, &root.join(crate::project::disk::state::STATE_DIR), OFlags::PATH)?;
    let folder = open_beneath(&state, Path::new(FOLDER), OFlags::PATH)?;
    let dir = shown.parent().unwrap_or(root);
    let meta = rustix::fs::fstat(&folder)?;
    ours(&meta, dir)?;
    if meta.st_mode & 0o077 != 0 {
        return Err(refused(dir, format!("is open to other users (mode {:o})", meta.st_mode & 0o7777)));
    }
    let sock = rustix::fs::statat(&folder, NAME, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(sock.st_mode) != FileType::Socket {
        return Err(refused(&shown, "is not a socket".into()));
    }
    ours(&sock, &shown)?;
    let address = Address::of(root, folder)?;
    let stream = UnixStream::connect(&address.address)?;
    let uid = peer_uid(&stream)?;
    if uid != euid() {
        return Err(refused(&shown, format!("is served by a process of another user (uid {uid})")));
    }
    Ok(stream)
}

/// Opens a folder without following a link at its last segment.
fn open_beneath(dir: impl AsFd, path: &Path, mode: OFlags) -> std::io::Result<OwnedFd> {
    let flags = mode | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, path, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => refused(path, "is not a folder (a symlink?)".into()),
        e => std::io::Error::from(e),
    })
}

fn ours(meta: &rustix::fs::Stat, path: &Path) -> std::io::Result<()> {
    if meta.st_uid != euid() {
        return Err(refused(path, format!("belongs to another user (uid {})", meta.st_uid)));
    }
    Ok(())
}

fn refused(path: &Path, problem: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, format!("{}: {problem}", path.display()))
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// The user id of the process at the other end of a connection.
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: a valid socket fd, and a buffer of the size passed.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// Whether a connection comes from this process's own user.
pub fn same_user(stream: &UnixStream) -> bool {
    matches!(peer_uid(stream), Ok(uid) if uid == euid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(depth: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("x".repeat(depth));
        std::fs::create_dir_all(&root).unwrap();
        crate::project::disk::state::prepare(&root).unwrap();
        (dir, root)
    }

    #[test]
    fn a_deep_project_is_served_from_its_own_state_folder() {
        let (_dir, root) = project(150);
        assert!(socket_path(&root).as_os_str().len() > 108);
        let (listener, address) = listen(&root).unwrap();
        assert_eq!(address.shown(), socket_path(&root));
        assert!(std::fs::symlink_metadata(socket_path(&root)).is_ok());
        let client = std::thread::spawn(move || connect(&root).map(|_| ()));
        let (_server, _) = listener.accept().unwrap();
        client.join().unwrap().unwrap();
    }

    #[test]
    fn no_owner_is_not_found_and_a_linked_socket_folder_is_refused() {
        let (_dir, root) = project(4);
        assert_eq!(connect(&root).unwrap_err().kind(), std::io::ErrorKind::NotFound);
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.join(".packer/owner")).unwrap();
        assert_eq!(connect(&root).unwrap_err().kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(listen(&root).unwrap_err().kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_socket_folder_open_to_others_is_not_connected_through() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, root) = project(4);
        let (_listener, _address) = listen(&root).unwrap();
        let folder = root.join(".packer/owner");
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = connect(&root).unwrap_err();
        assert!(err.to_string().contains("open to other users"), "{err}");
    }

    #[test]
    fn peer_of_a_socket_pair_is_us() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(same_user(&a));
    }
}
