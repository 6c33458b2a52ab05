//! The workspace on disk: asset kinds, what a file is (hash, size, cheap
//! metadata, diagnostics) and which files lie under the asset roots.
//!
//! Everything here reads the disk and nothing here writes it.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::sandbox::{Entry, FileStat, Found, Sandbox};
use crate::hash::ContentHash;
use crate::project::format::manifest::Manifest;
use crate::project::model::{extension, references, Diagnostic, Kind, Metadata, Name, Observed, Problem, Severity};

/// Reads a file once: its blake3 hash, size, metadata and content problems.
/// Content that does not parse is a problem, never an error of this function.
/// Reads and inspects one file, resolved beneath the project root (see
/// [`Sandbox`]: never through a symlink, never outside).
pub fn inspect(root: &Path, rel: &str, kind: Kind) -> io::Result<Observed> {
    inspect_in(&Sandbox::open(root)?, rel, kind)
}

/// Reads the file at `on_disk` and inspects it as the file at `named` (a
/// move's plan: a glTF's references are relative to its folder).
pub fn inspect_as(root: &Path, on_disk: &str, named: &str, kind: Kind) -> io::Result<Observed> {
    let bytes = Sandbox::open(root)?.read(on_disk)?;
    Ok(inspect_bytes(&bytes, kind, named))
}

/// Whether what a file names depends on where it is: moved from `from` to
/// `to`, its references must be read again (a glTF's URIs are relative to
/// its folder; a new extension may change how references are written).
pub fn references_move_with(from: &str, to: &str) -> bool {
    let (a, b) = (references::Syntax::of_extension(&extension(from)), references::Syntax::of_extension(&extension(to)));
    a != b || a == Some(references::Syntax::Gltf)
}

fn inspect_in(sandbox: &Sandbox, rel: &str, kind: Kind) -> io::Result<Observed> {
    let bytes = sandbox.read(rel)?;
    Ok(inspect_bytes(&bytes, kind, rel))
}

/// What the bytes of the file at `rel` (project-relative) are: hash, size,
/// metadata, content problems and the references the file holds.
pub fn inspect_bytes(bytes: &[u8], kind: Kind, rel: &str) -> Observed {
    let ext = &*extension(rel);
    let hash = ContentHash::of(bytes);
    let mut metadata = Metadata::default();
    let mut problems = Vec::new();
    // By extension, whatever kind the registry gave the file: a `.gltf`
    // registered before models were a kind still names its buffers.
    let syntax = references::Syntax::of_extension(ext);
    let refs = syntax.map(|syntax| (syntax, references::find_in(bytes, syntax, rel)));
    // A JSON file the reference finder read whole is valid: not parsed twice.
    let json_valid = matches!(refs, Some((_, Ok((_, true)))));
    match kind {
        Kind::Image if matches!(ext, "ktx2" | "dds") => texture_metadata(bytes, ext, &mut metadata, &mut problems),
        Kind::Image => image_metadata(bytes, &mut metadata, &mut problems),
        Kind::Audio => audio_metadata(bytes, ext, &mut metadata, &mut problems),
        Kind::Data => data_metadata(bytes, ext, json_valid, &mut metadata, &mut problems),
        Kind::Text => match std::str::from_utf8(bytes) {
            Ok(s) => {
                metadata.encoding = Some(Name::new("utf-8"));
                metadata.lines = Some(s.lines().count() as u64);
            }
            Err(e) => problems.push((
                Severity::Error,
                "invalidUtf8",
                format!("text is not valid UTF-8 at byte {}", e.valid_up_to()),
            )),
        },
        Kind::Font => font_metadata(bytes, ext, &mut metadata, &mut problems),
        Kind::Binary | Kind::Model => {}
    }
    let mut found = Vec::new();
    if let Some((syntax, refs)) = refs {
        match refs {
            Ok((f, _)) => found = f,
            // JSON and TOML say so in their own diagnostic.
            Err(e) if syntax == references::Syntax::Gltf => {
                problems.push((Severity::Error, "invalidJson", format!("invalid glTF JSON: {e}")))
            }
            Err(_) => {}
        }
        if found.len() > references::MAX_PER_FILE {
            found.truncate(references::MAX_PER_FILE);
            problems.push((
                Severity::Warning,
                "tooManyReferences",
                format!("the file names more than {} assets; only the first are followed", references::MAX_PER_FILE),
            ));
        }
    }
    let references = references::shared(found.into_iter().map(|f| f.reference).collect());
    let problems = problems
        .into_iter()
        .map(|(severity, code, message)| Problem { severity, code: code.to_string(), message })
        .collect();
    Observed { hash, size: bytes.len() as u64, metadata: Arc::new(metadata), problems, references }
}

/// An image's format and size from its header, read by the decoder a
/// build uses, with the limits it decodes under: a header that does not
/// parse, a format it cannot decode, or a size it would refuse fails the
/// build, so it is a problem from the moment the file is looked at.
fn image_metadata(bytes: &[u8], meta: &mut Metadata, problems: &mut Vec<(Severity, &'static str, String)>) {
    use image::ImageDecoder;
    let unreadable = |why: String| (Severity::Error, "imageUnreadable", why);
    let reader = match image::ImageReader::new(io::Cursor::new(bytes)).with_guessed_format() {
        Ok(r) => r,
        Err(e) => return problems.push(unreadable(format!("the image header cannot be read: {e}"))),
    };
    let Some(format) = reader.format() else {
        return problems.push(unreadable("the file is not an image in a format the packer decodes".into()));
    };
    let decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(e) => return problems.push(unreadable(format!("the image header cannot be read: {e}"))),
    };
    let (width, height) = decoder.dimensions();
    meta.format = Some(Name::new(&format!("{format:?}").to_ascii_lowercase()));
    if width == 0 || height == 0 {
        return problems.push(unreadable(format!("the image is {width}×{height}: it has no pixels")));
    }
    let limit = image::Limits::default().max_alloc.unwrap_or(u64::MAX);
    if decoder.total_bytes() > limit {
        return problems.push(unreadable(format!(
            "the image is {width}×{height}: decoded it would take {} bytes, over the decoder's limit of {limit}",
            decoder.total_bytes()
        )));
    }
    meta.width = Some(width);
    meta.height = Some(height);
}

/// A source that is a GPU texture already (KTX2, DDS): the build passes its
/// blocks through, so it is whole when the texture reader takes it.
fn texture_metadata(
    bytes: &[u8],
    ext: &str,
    meta: &mut Metadata,
    problems: &mut Vec<(Severity, &'static str, String)>,
) {
    use crate::build::texture::ktx;
    let read = if ext == "ktx2" { ktx::read_ktx2(bytes) } else { ktx::read_dds(bytes, true) };
    meta.format = Some(Name::new(ext));
    match read {
        Ok(levels) => {
            meta.width = Some(levels.width);
            meta.height = Some(levels.height);
        }
        Err(why) => {
            problems.push((Severity::Error, "textureInvalid", format!("the {ext} texture cannot be used: {why}")))
        }
    }
}

/// A sound decoded whole (what a build will decode), so that one that does
/// not decode is an error from the first look. Its loudness is measured
/// later, off the open (`project::measure`): until then it is pending.
fn audio_metadata(bytes: &[u8], ext: &str, meta: &mut Metadata, problems: &mut Vec<(Severity, &'static str, String)>) {
    match crate::build::audio::probe(bytes, ext) {
        Ok(s) => {
            meta.format = Some(Name::new(s.format));
            meta.codec = Some(Name::new(s.codec));
            meta.channels = Some(s.channels);
            meta.sample_rate = Some(s.sample_rate);
            meta.bits_per_sample = s.bits_per_sample;
            meta.duration_ms = Some(s.frames * 1000 / u64::from(s.sample_rate));
            meta.loudness_pending = Some(true);
        }
        Err(why) => problems.push((Severity::Error, "audioUnreadable", why)),
    }
}

/// `json_valid`: serde_json has already read the file whole (the
/// reference finder did), so it is not parsed again.
fn data_metadata(
    bytes: &[u8],
    ext: &str,
    json_valid: bool,
    meta: &mut Metadata,
    problems: &mut Vec<(Severity, &'static str, String)>,
) {
    meta.format = Some(Name::new(ext));
    match ext {
        "json" if json_valid => meta.valid = Some(true),
        "json" => match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => meta.valid = Some(true),
            Err(e) => {
                meta.valid = Some(false);
                problems.push((
                    Severity::Error,
                    "invalidJson",
                    format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()),
                ));
            }
        },
        "toml" => {
            let parsed = std::str::from_utf8(bytes)
                .map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to()))
                .and_then(|s| toml::from_str::<toml::Table>(s).map_err(|e| toml_error(s, &e)));
            meta.valid = Some(parsed.is_ok());
            if let Err(e) = parsed {
                problems.push((Severity::Error, "invalidToml", format!("invalid TOML: {e}")));
            }
        }
        _ => {}
    }
}

/// A TOML parse error as one bounded line: where, and what. (The error's
/// own text quotes the offending line whole, and a line can be megabytes.)
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    let Some(at) = e.span().map(|span| span.start.min(text.len())) else { return message };
    let before = text.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    format!("line {line}, column {column}: {message}")
}

fn font_metadata(bytes: &[u8], ext: &str, meta: &mut Metadata, problems: &mut Vec<(Severity, &'static str, String)>) {
    let format = match bytes.get(..4) {
        Some([0, 1, 0, 0]) | Some(b"true") => "truetype",
        Some(b"OTTO") => "opentype",
        Some(b"wOFF") => "woff",
        Some(b"wOF2") => "woff2",
        _ if ext == "fnt" => "bitmap",
        _ => {
            problems.push((
                Severity::Error,
                "fontUnreadable",
                "the file is not a TrueType, OpenType or WOFF font".into(),
            ));
            return;
        }
    };
    meta.format = Some(Name::new(format));
}

/// What a walk's `stat` said of each file it found, by path.
pub type Walked<'a> = std::collections::HashMap<&'a str, FileStat>;

/// The result of walking the asset roots.
#[derive(Debug, Default)]
pub struct Scan {
    /// Regular files under the roots, not excluded, sorted by path, each
    /// with what `stat` said of it during the walk.
    pub files: Vec<(String, FileStat)>,
    /// Things the walk saw and refused, each a project warning.
    pub skipped: Vec<Diagnostic>,
}

impl Scan {
    /// What the walk's `stat` said of each file, by path.
    pub fn stats(&self) -> Walked<'_> {
        self.files.iter().map(|(p, s)| (p.as_str(), *s)).collect()
    }

    /// The paths found, sorted.
    pub fn into_paths(self) -> impl Iterator<Item = String> {
        self.files.into_iter().map(|(p, _)| p)
    }
}

/// Walks the asset roots. Symlinks are never followed: a symlink could lead
/// out of the project, and two names for one file would split its identity.
pub fn scan(root: &Path, manifest: &Manifest) -> Scan {
    match Sandbox::open(root) {
        Ok(sandbox) => scan_in(&sandbox, manifest),
        Err(e) => Scan {
            files: Vec::new(),
            skipped: vec![Diagnostic::project(
                Severity::Warning,
                "unreadable",
                format!("cannot read the project folder: {e}"),
                None,
            )],
        },
    }
}

/// [`scan`] through a sandbox already open: the walk goes folder handle by
/// folder handle beneath the root ([`Sandbox::walk`]).
pub fn scan_in(sandbox: &Sandbox, manifest: &Manifest) -> Scan {
    let mut out = Scan::default();
    let warn =
        |code: &str, message: String, path: Option<String>| Diagnostic::project(Severity::Warning, code, message, path);
    for asset_root in &manifest.roots {
        match sandbox.entry(asset_root) {
            Ok(Some(Entry::Dir)) => {}
            // A symlinked asset root is not followed either: it could lead anywhere.
            Ok(Some(Entry::Symlink)) => {
                let message = format!("asset root `{asset_root}` is a symlink and is not scanned");
                out.skipped.push(warn("symlinkIgnored", message, Some(asset_root.clone())));
                continue;
            }
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                let message = format!("asset root `{asset_root}` is not scanned: {e}");
                out.skipped.push(warn("unreadable", message, Some(asset_root.clone())));
                continue;
            }
        }
        let skip_dir = |rel: &str| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            name == ".packer" || name == ".git"
        };
        let mut found = |f: Found| match f {
            Found::File { rel, stat } => {
                if !manifest.is_excluded(&rel) {
                    out.files.push((rel, stat));
                }
            }
            Found::Symlink { rel } => {
                let message = format!("`{rel}` is a symlink; symlinks under the asset roots are ignored");
                out.skipped.push(warn("symlinkIgnored", message, Some(rel)));
            }
            Found::Unreadable { rel, error } => {
                out.skipped.push(warn("unreadable", format!("cannot read {rel}: {error}"), Some(rel)));
            }
            Found::NotUtf8 { dir, name } => {
                let message = format!(
                    "`{dir}/{}` has a name that is not valid UTF-8 and is ignored",
                    String::from_utf8_lossy(&name)
                );
                out.skipped.push(warn("unrepresentableName", message, None));
            }
        };
        if let Err(e) = sandbox.walk(asset_root, &skip_dir, &mut found) {
            let message = format!("asset root `{asset_root}` is not scanned: {e}");
            out.skipped.push(warn("unreadable", message, Some(asset_root.clone())));
        }
    }
    out.files.sort_by(|a, b| a.0.cmp(&b.0));
    out.files.dedup_by(|a, b| a.0 == b.0);
    out.skipped.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    out
}

/// Inspects many files on all cores. The result is in the order of `items`.
pub fn inspect_many(root: &Path, items: &[(String, Kind)]) -> Vec<io::Result<Observed>> {
    match Sandbox::open(root) {
        Ok(sandbox) => inspect_many_in(&sandbox, items),
        Err(e) => items.iter().map(|_| Err(io::Error::new(e.kind(), e.to_string()))).collect(),
    }
}

/// [`inspect_many`] through a sandbox already open.
pub fn inspect_many_in(sandbox: &Sandbox, items: &[(String, Kind)]) -> Vec<io::Result<Observed>> {
    if items.is_empty() {
        return Vec::new();
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<io::Result<Observed>>> = (0..items.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, io::Result<Observed>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((rel, kind)) = items.get(i) else {
                            break;
                        };
                        done.push((i, inspect_in(sandbox, rel, *kind)));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("inspection worker panicked")).collect()
    });
    for (i, r) in chunks.into_iter().flatten() {
        results[i] = Some(r);
    }
    results.into_iter().map(|r| r.expect("every item inspected")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_error_says_where_in_one_bounded_line_and_json_is_read_once_for_references() {
        let text = format!("ok = 1\nlong = {}\"asset:x\"{}", "[".repeat(100_000), "]".repeat(100_000));
        let obs = inspect_bytes(text.as_bytes(), Kind::Data, "a.toml");
        let message = &obs.problems[0].message;
        assert!(message.starts_with("invalid TOML: line 2, column "), "{message}");
        assert!(message.len() < 200, "{} bytes", message.len());
        // A JSON file that names assets: valid, its references found, in one parse.
        let obs = inspect_bytes(br#"{"a": ["asset:hero", "asset:a/b.png"]}"#, Kind::Data, "l.json");
        assert_eq!((obs.metadata.valid, obs.references.len(), obs.problems.len()), (Some(true), 2, 0));
        let obs = inspect_bytes(br#"{"a": ["asset:hero",]}"#, Kind::Data, "l.json");
        assert_eq!((obs.metadata.valid, obs.references.len()), (Some(false), 0));
        assert!(obs.problems[0].message.starts_with("invalid JSON at line 1"), "{:?}", obs.problems);
    }

    #[test]
    fn kinds_from_extension() {
        assert_eq!(Kind::of_path("a/b.PNG"), Kind::Image);
        assert_eq!(Kind::of_path("a/b.wav"), Kind::Audio);
        assert_eq!(Kind::of_path("b.json"), Kind::Data);
        assert_eq!(Kind::of_path("b.txt"), Kind::Text);
        assert_eq!(Kind::of_path("b.ttf"), Kind::Font);
        assert_eq!(Kind::of_path("b.bin"), Kind::Binary);
        assert_eq!(Kind::of_path(".hidden"), Kind::Binary);
    }

    #[test]
    fn invalid_json_is_a_problem_with_position() {
        let o = inspect_bytes(b"{\n  \"a\": }", Kind::Data, "a.json");
        assert_eq!(o.problems.len(), 1);
        assert_eq!(o.problems[0].code, "invalidJson");
        assert!(o.problems[0].message.contains("line 2"), "{}", o.problems[0].message);
        assert_eq!(o.metadata.valid, Some(false));
    }

    #[test]
    fn corrupt_image_is_a_problem_not_a_crash() {
        let o = inspect_bytes(b"\x89PNG\r\n\x1a\nshort", Kind::Image, "a.png");
        assert_eq!(o.problems[0].code, "imageUnreadable");
        // The signature and text that happen to spell huge dimensions: a
        // header reader that does not check the chunk took them as a size.
        let o = inspect_bytes(b"\x89PNG\r\n\x1a\nhello, this is text", Kind::Image, "a.png");
        assert_eq!(o.problems.len(), 1, "{:?}", o.problems);
        assert_eq!(o.problems[0].code, "imageUnreadable");
        assert_eq!((o.metadata.width, o.metadata.height), (None, None));
    }

    #[test]
    fn an_image_no_decoder_would_allocate_is_a_problem() {
        // A whole PNG header (IHDR with its CRC) announcing 60,000 × 60,000 RGBA.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&60_000u32.to_be_bytes());
        ihdr.extend_from_slice(&60_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d".to_vec();
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // An empty IDAT: the header ends where the pixel data begins.
        png.extend_from_slice(b"\x00\x00\x00\x00IDAT");
        png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        let o = inspect_bytes(&png, Kind::Image, "a.png");
        assert_eq!(o.problems.len(), 1, "{:?}", o.problems);
        assert!(o.problems[0].message.contains("60000×60000"), "{}", o.problems[0].message);
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn text_utf8() {
        assert!(inspect_bytes(b"hi\nthere", Kind::Text, "a.txt").problems.is_empty());
        assert_eq!(inspect_bytes(b"\xff", Kind::Text, "a.txt").problems[0].code, "invalidUtf8");
    }

    #[test]
    fn hash_is_blake3() {
        let o = inspect_bytes(b"abc", Kind::Binary, "a.bin");
        assert_eq!(o.hash, ContentHash::of(b"abc"));
        assert_eq!(o.size, 3);
    }
}
