//! Project-relative paths: validation and confinement to the project root.
//!
//! Paths on the wire and in the registry are relative to the project root and
//! use `/` separators. Every path from a client goes through [`normalize`]
//! and [`confine`] when a mutation is planned (their problems are blockers);
//! the file operations themselves go through `sandbox`, which refuses the
//! same escapes again at the system call.

use std::path::{Component, Path, PathBuf};

/// Longest accepted relative path, in bytes (Linux's PATH_MAX is 4096).
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted segment, in bytes (NAME_MAX on common file systems).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Why a path was refused. `code` is the blocker code clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem {
    pub code: &'static str,
    pub message: String,
}

impl PathProblem {
    fn outside(path: &str, why: &str) -> Self {
        PathProblem { code: "outsideProject", message: format!("`{path}` is outside the project: {why}") }
    }
    fn invalid(path: &str, why: &str) -> Self {
        PathProblem { code: "invalidName", message: format!("`{path}` is not a valid asset path: {why}") }
    }
}

/// Folders and files that belong to the packer or to version control and can
/// never be the subject of an asset mutation.
const RESERVED_TOP: &[&str] = &[".packer", ".git", "packer.toml", "packer.registry.jsonl"];

/// Validates the text of a relative path and returns it normalised (no `./`,
/// no trailing `/`). Does not touch the disk.
pub fn normalize(path: &str) -> Result<String, PathProblem> {
    let mut segments = Vec::new();
    check(path, |seg| segments.push(seg))?;
    Ok(segments.join("/"))
}

/// [`normalize`], for a path a client wants an asset to have: also refused
/// when a segment would open a Windows device. Only new paths are held to
/// it: a path the registry already has (from before the rule) still loads,
/// and the asset can be moved to a better name.
pub fn normalize_new(path: &str) -> Result<String, PathProblem> {
    let norm = normalize(path)?;
    if let Some(device) = norm.split('/').find_map(windows_device) {
        return Err(PathProblem::invalid(path, &format!("`{device}` is a device name on Windows")));
    }
    Ok(norm)
}

/// Whether `path` is already what [`normalize`] makes of it: the check made
/// of every path the registry holds, so it allocates nothing.
pub fn is_normalized(path: &str) -> bool {
    // `normalize` drops empty and `.` segments: a path with any is not normal.
    let mut kept = 0;
    check(path, |_| kept += 1).is_ok() && kept == path.split('/').count()
}

/// The rules of a project path: `kept` is given each segment that stays
/// (empty and `.` segments do not).
fn check<'p>(path: &'p str, mut kept: impl FnMut(&'p str)) -> Result<(), PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::invalid(path, "the path is empty"));
    }
    if path.contains('\0') {
        return Err(PathProblem::invalid(&path.replace('\0', "\\0"), "it contains a NUL byte"));
    }
    if path.len() > MAX_PATH_BYTES {
        // Named by its start: at most 40 bytes, cut at a character boundary.
        let start = (0..=40).rev().find(|&i| path.is_char_boundary(i)).unwrap_or(0);
        return Err(PathProblem::invalid(&path[..start], "it is longer than 1024 bytes"));
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(PathProblem::outside(path, "absolute paths are not accepted"));
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err(PathProblem::outside(path, "a drive letter is not a project path"));
    }
    if path.contains('\\') {
        return Err(PathProblem::invalid(path, "use `/` as the separator, not `\\`"));
    }
    let mut first = None;
    for seg in path.split('/') {
        match seg {
            "" | "." => continue,
            ".." => return Err(PathProblem::outside(path, "`..` segments are not accepted")),
            _ => {}
        }
        if seg.len() > MAX_SEGMENT_BYTES {
            return Err(PathProblem::invalid(path, "a segment is longer than 255 bytes"));
        }
        // Most segments are plain printable ASCII: only others are looked at char by char.
        let plain = |b: &u8| (0x20..0x7f).contains(b) && !b"<>:\"|?*".contains(b);
        let odd = !seg.as_bytes().iter().all(plain);
        if let Some(c) = seg.chars().find(|c| odd && (c.is_control() || "<>:\"|?*".contains(*c))) {
            return Err(PathProblem::invalid(path, &format!("it contains {c:?}, which some file systems refuse")));
        }
        if seg.ends_with(' ') || seg.ends_with('.') {
            return Err(PathProblem::invalid(path, "a segment ends with a space or a dot"));
        }
        first.get_or_insert(seg);
        kept(seg);
    }
    let Some(first) = first else {
        return Err(PathProblem::invalid(path, "the path names the project root"));
    };
    if RESERVED_TOP.contains(&first) {
        return Err(PathProblem::invalid(path, &format!("`{first}` belongs to the packer or to git")));
    }
    Ok(())
}

/// The Windows device name a segment would open instead of a file (`con`,
/// `aux.png`, `COM1.txt`: the name before the first dot, in any case,
/// trailing spaces ignored), refused for the same reason as a trailing dot:
/// the project may be checked out on Windows.
fn windows_device(seg: &str) -> Option<&str> {
    const DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    let stem = seg.split('.').next().unwrap_or(seg).trim_end_matches(' ');
    // COM0-9 and LPT0-9, and the superscript ¹ ² ³ Windows also reserves.
    let numbered = |prefix: &str| {
        let mut chars = stem.chars();
        let head: String = chars.by_ref().take(3).collect();
        let digit = chars.next().is_some_and(|c| c.is_ascii_digit() || matches!(c, '¹' | '²' | '³'));
        head.eq_ignore_ascii_case(prefix) && digit && chars.next().is_none()
    };
    let reserved = DEVICES.iter().any(|d| stem.eq_ignore_ascii_case(d)) || numbered("COM") || numbered("LPT");
    reserved.then_some(stem)
}

/// The absolute path of a normalised relative path.
pub fn absolute(root: &Path, rel: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(rel.split('/'));
    p
}

/// Checks that no existing ancestor of `rel`, nor `rel` itself, is a
/// symlink (one leading out of `root` is `outsideProject`, any other
/// `invalidName`). `root` must be canonical.
pub fn confine(root: &Path, rel: &str) -> Result<(), PathProblem> {
    let mut current = root.to_path_buf();
    for seg in rel.split('/') {
        current.push(seg);
        let Ok(meta) = std::fs::symlink_metadata(&current) else {
            // The rest does not exist yet: nothing below can be a symlink.
            return Ok(());
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::canonicalize(&current)
                .map_err(|_| PathProblem::outside(rel, "it goes through a dangling symlink"))?;
            if !target.starts_with(root) {
                return Err(PathProblem::outside(rel, "it goes through a symlink that leads out of the project"));
            }
            // A symlink inside the project is still refused for assets: the
            // registry names files, and two names for one file would split its identity.
            return Err(PathProblem::invalid(rel, "it goes through a symlink"));
        }
    }
    Ok(())
}

/// Converts a path found on disk under `root` into the registry's form.
pub fn relative_of(root: &Path, abs: &Path) -> Option<String> {
    let rel = abs.strip_prefix(root).ok()?;
    let mut out = String::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(s.to_str()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dot_segments_and_slashes() {
        assert_eq!(normalize("./assets//a.png").unwrap(), "assets/a.png");
        assert_eq!(normalize("assets/a.png/").unwrap(), "assets/a.png");
    }

    #[test]
    fn a_path_is_normalized_only_when_normalize_leaves_it_as_it_is() {
        for p in ["assets/a.png", "a", "assets/sub/b c.txt"] {
            assert!(is_normalized(p), "{p}");
        }
        for p in ["./assets/a.png", "assets//a.png", "assets/a.png/", "assets/./a", "../x", "", ".git/x", "a\\b"] {
            assert!(!is_normalized(p), "{p:?}");
            assert!(normalize(p).map_or(true, |n| n != p), "{p:?}");
        }
    }

    #[test]
    fn refuses_escapes() {
        for p in ["../x", "a/../../x", "/etc/passwd", "C:/x", "c:x", "\\\\server\\x"] {
            assert_eq!(normalize(p).unwrap_err().code, "outsideProject", "{p}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        for p in [
            "",
            ".",
            "a\0b",
            "a\\b",
            "a/b?",
            "a/con.",
            "x/ y ",
            ".packer/x",
            "packer.toml",
            ".git/config",
            "assets/prn /a",
        ] {
            assert_eq!(normalize(p).unwrap_err().code, "invalidName", "{p:?}");
        }
        assert_eq!(normalize(&"a".repeat(300)).unwrap_err().code, "invalidName");
        // A long path whose 40th byte is inside a character is named, not a panic.
        let long = format!("{}é{}", "a".repeat(39), "a/".repeat(600));
        assert_eq!(normalize(&long).unwrap_err().code, "invalidName");
    }

    #[test]
    fn new_paths_naming_windows_devices_are_refused_but_registered_ones_still_load() {
        for p in [
            "assets/con",
            "assets/AUX.png",
            "assets/nul.tar.gz",
            "assets/Com1/x.txt",
            "assets/lpt9.wav",
            "assets/com¹.txt",
        ] {
            assert_eq!(normalize_new(p).unwrap_err().code, "invalidName", "{p:?}");
            assert!(is_normalized(p), "{p:?}: a registry that has it must still load");
        }
    }

    #[test]
    fn names_that_only_look_like_devices_are_accepted() {
        for p in [
            "assets/console.png",
            "assets/com10.txt",
            "assets/con_x.png",
            "assets/nullable.txt",
            "assets/auxiliary/a",
            "assets/a€1",
        ] {
            assert_eq!(normalize_new(p).as_deref(), Ok(p), "{p}");
        }
    }

    #[test]
    fn symlink_out_of_root_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        assert_eq!(confine(&root, "link/x.png").unwrap_err().code, "outsideProject");
        assert!(confine(&root, "real/x.png").is_ok());
    }
}
