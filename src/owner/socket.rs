//! The owner's Unix socket: where it lives, who may connect.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// `sun_path` holds 108 bytes on Linux, including the final NUL.
const MAX_SOCKET_PATH: usize = 100;

/// The socket path for a canonical project root: under `.packer/owner/`, or,
/// when that would be too long for a socket address, under the user's runtime
/// folder with a hash of the root. Every process computes the same path.
pub fn socket_path(root: &Path) -> PathBuf {
    let local = root.join(crate::project::STATE_DIR).join("owner").join("owner.sock");
    if local.as_os_str().len() <= MAX_SOCKET_PATH {
        return local;
    }
    let hash = blake3::hash(root.as_os_str().as_encoded_bytes()).to_hex();
    runtime_dir().join(format!("{}.sock", &hash[..24]))
}

fn runtime_dir() -> PathBuf {
    let uid = unsafe { libc::geteuid() };
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("studio-packer"),
        _ => std::env::temp_dir().join(format!("studio-packer-{uid}")),
    }
}

/// Creates the socket's folder readable by its owner only, and checks that
/// an existing one is ours and not open to others (a folder someone else
/// prepared in a shared /tmp must not be trusted).
pub fn prepare_dir(socket: &Path) -> std::io::Result<()> {
    let dir = socket.parent().expect("a socket path has a folder");
    std::fs::create_dir_all(dir)?;
    let meta = std::fs::metadata(dir)?;
    let uid = unsafe { libc::geteuid() };
    use std::os::unix::fs::MetadataExt;
    if meta.uid() != uid {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} belongs to another user", dir.display()),
        ));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
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
    let ours = unsafe { libc::geteuid() };
    matches!(peer_uid(stream), Ok(uid) if uid == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_roots_use_the_runtime_folder() {
        let short = socket_path(Path::new("/p"));
        assert_eq!(short, PathBuf::from("/p/.packer/owner/owner.sock"));
        let long_root = PathBuf::from(format!("/{}", "x".repeat(120)));
        let long = socket_path(&long_root);
        assert!(long.as_os_str().len() < 108, "{}", long.display());
        assert_eq!(long, socket_path(&long_root));
    }

    #[test]
    fn peer_of_a_socket_pair_is_us() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(same_user(&a));
    }
}
