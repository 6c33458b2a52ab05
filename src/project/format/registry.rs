//! `packer.registry.jsonl`, the committed registry of asset identities.
//!
//! One header line, then one asset per line sorted by id, keys in a fixed
//! order. That shape is chosen for git: an unchanged asset is an unchanged
//! line, and two people touching different assets touch different lines.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::project::model::Entry;

pub const REGISTRY_FILE: &str = "packer.registry.jsonl";
pub const FORMAT: &str = "studio-packer.registry";
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
}

/// What kind of disagreement a conflict record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConflictKind {
    /// Both sides changed one field of one asset to different values
    /// (`fields` names them); a move to two paths is one of these.
    Field,
    /// One side deleted an asset the other changed.
    Deleted,
    /// Two assets claim one path.
    PathClaimed,
    /// The same new file registered under two ids, one on each side.
    RegisteredTwice,
}

impl ConflictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Field => "field",
            ConflictKind::Deleted => "deleted",
            ConflictKind::PathClaimed => "pathClaimed",
            ConflictKind::RegisteredTwice => "registeredTwice",
        }
    }
}

/// One unresolved conflict, as a line of the registry file:
/// `{"conflict":"field","fields":["path"],"base":[…],"ours":[…],"theirs":[…]}`,
/// each side the entries of the assets involved as that side has them (an
/// empty list: the side does not have them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    pub conflict: ConflictKind,
    /// For `field`: the fields in conflict (`path`, `kind`, `content`,
    /// `settings.<key>`; `tags` only for an id added on both sides).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    pub base: Vec<Entry>,
    pub ours: Vec<Entry>,
    pub theirs: Vec<Entry>,
}

impl Conflict {
    /// One line for a person.
    pub fn describe(&self) -> String {
        let side = |entries: &[Entry]| -> String {
            if entries.is_empty() {
                return "deleted".into();
            }
            entries.iter().map(|e| format!("{} at {}", e.id, e.path)).collect::<Vec<_>>().join(", ")
        };
        let what = match self.conflict {
            ConflictKind::Field => format!("both sides changed {}", self.fields.join(", ")),
            ConflictKind::Deleted => "one side deleted what the other changed".into(),
            ConflictKind::PathClaimed => "two assets claim one path".into(),
            ConflictKind::RegisteredTwice => "the same new file was registered twice".into(),
        };
        format!("{what}: ours {}; theirs {}", side(&self.ours), side(&self.theirs))
    }

    /// The ids the conflict is about, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let ids: BTreeSet<&str> = self.base.iter().chain(&self.ours).chain(&self.theirs).map(|e| &*e.id).collect();
        ids.into_iter().collect()
    }
}

/// What a registry file holds: its entries (unique ids and paths, in id
/// order) and the conflict records a merge left in it (see `merge.rs`),
/// which stand until they are reconciled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub conflicts: Vec<Conflict>,
}

/// Parses registry bytes as found on disk: a missing or empty file is an
/// empty registry. The one place that decides it, at open and live alike.
pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<Parsed, RegistryError> {
    if bytes.is_empty() {
        return Ok(Parsed::default());
    }
    let mut parser = Parser::new(file);
    for line in bytes.split(|b| *b == b'\n') {
        parser.line(line)?;
    }
    parser.finish()
}

/// Parses a registry file as it streams by, and hashes it on the way: the
/// entries and the hash of exactly the bytes they came from, with no copy
/// of the file in memory (20 MB at 100,000 assets). A missing file is an
/// empty registry; `Ok(Err(_))` is a file that does not parse.
pub fn read(path: &Path, file: &str) -> std::io::Result<(Result<Parsed, RegistryError>, String)> {
    use std::io::BufRead;
    let mut hasher = blake3::Hasher::new();
    let mut parser = Parser::new(file);
    let mut failed = None;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Ok(Parsed::default()), content_hash(b""))),
        Err(e) => return Err(e),
    };
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, f);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        hasher.update(&line);
        if failed.is_none() {
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if let Err(e) = parser.line(text) {
                failed = Some(e);
            }
        }
    }
    let hash = hasher.finalize().to_hex().to_string();
    Ok((failed.map_or_else(|| parser.finish(), Err), hash))
}

/// The hash the packer compares registry and manifest files by.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Whether a registry line is a conflict record (in any key order).
pub fn is_conflict_record(line: &[u8]) -> bool {
    line.starts_with(br#"{"conflict":"#) || serde_json::from_slice::<Conflict>(line).is_ok()
}

/// Parses registry text. Every problem names its line; duplicate ids and
/// duplicate paths are errors because either would split an asset's identity.
pub fn parse(text: &str, file: &str) -> Result<Parsed, RegistryError> {
    let mut parser = Parser::new(file);
    for line in text.lines() {
        parser.line(line.as_bytes())?;
    }
    if parser.line_no == 0 {
        return Err(parser.invalid(1, "the file is empty: the first line must be the registry header".into()));
    }
    parser.finish()
}

/// Registry text taken one line at a time, so that a file is parsed as it
/// is read and never needs to be held whole.
struct Parser<'f> {
    file: &'f str,
    line_no: usize,
    entries: Vec<Entry>,
    /// The line of each entry, kept beside it only until duplicates are checked.
    lines: Vec<usize>,
    /// Conflict records a merge left (see `merge.rs`).
    conflicts: Vec<Conflict>,
}

impl<'f> Parser<'f> {
    fn new(file: &'f str) -> Self {
        Parser { file, line_no: 0, entries: Vec::new(), lines: Vec::new(), conflicts: Vec::new() }
    }

    fn invalid(&self, line: usize, message: String) -> RegistryError {
        RegistryError::Invalid { file: self.file.to_string(), line, message }
    }

    /// One line, without its line break (a trailing `\r` is allowed).
    /// One line, as bytes: serde_json checks the UTF-8 of what it reads, so
    /// the line is not checked (or copied) first.
    fn line(&mut self, line: &[u8]) -> Result<(), RegistryError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.line_no += 1;
        let n = self.line_no;
        if n == 1 {
            let header: Header = serde_json::from_slice(line).map_err(|e| {
                self.invalid(
                    1,
                    format!("the first line must be the header {{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}: {e}"),
                )
            })?;
            if header.format != FORMAT {
                return Err(self.invalid(1, format!("format is `{}`, expected `{FORMAT}`", header.format)));
            }
            if header.version != VERSION {
                return Err(self.invalid(
                    1,
                    format!("version {} is not supported (this packer reads version {VERSION})", header.version),
                ));
            }
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if line.starts_with(br#"{"conflict":"#) {
            let conflict =
                serde_json::from_slice(line).map_err(|e| self.invalid(n, format!("a conflict record: {e}")))?;
            return self.conflict(n, conflict);
        }
        let entry: Entry = match serde_json::from_slice(line) {
            Ok(entry) => entry,
            // Perhaps a conflict record written with its keys in another order.
            Err(e) => match serde_json::from_slice::<Conflict>(line) {
                Ok(conflict) => return self.conflict(n, conflict),
                Err(_) => return Err(self.invalid(n, e.to_string())),
            },
        };
        self.check(n, &entry)?;
        self.entries.push(entry);
        self.lines.push(n);
        Ok(())
    }

    /// An entry's id and path, as every entry of the file (a record's too) must have them.
    fn check(&self, n: usize, entry: &Entry) -> Result<(), RegistryError> {
        if !crate::ids::is_asset_id(&entry.id) {
            return Err(self.invalid(n, format!("`{}` is not a valid asset id", entry.id)));
        }
        if !crate::project::model::paths::is_normalized(&entry.path) {
            return Err(self.invalid(n, format!("`{}` is not a normalised project-relative path", entry.path)));
        }
        Ok(())
    }

    /// A conflict record, whose entries are checked like the file's own:
    /// resolving it puts them in the registry.
    fn conflict(&mut self, n: usize, conflict: Conflict) -> Result<(), RegistryError> {
        for e in conflict.base.iter().chain(&conflict.ours).chain(&conflict.theirs) {
            self.check(n, e)?;
        }
        self.conflicts.push(conflict);
        Ok(())
    }

    /// Every line that repeats an id or a path, in file order (found
    /// through sets of borrowed strings: no id or path is copied unless it
    /// is reported). Stops after the first when `all` is false.
    fn duplicates(&self, all: bool) -> Vec<RegistryError> {
        let mut ids = std::collections::HashSet::with_capacity(self.entries.len());
        let mut paths = std::collections::HashSet::with_capacity(self.entries.len());
        let mut found = Vec::new();
        for (e, n) in self.entries.iter().zip(&self.lines) {
            if !ids.insert(&*e.id) {
                found.push(self.invalid(*n, format!("duplicate asset id `{}`", e.id)));
            } else if !paths.insert(&*e.path) {
                found.push(self.invalid(*n, format!("duplicate path `{}`", e.path)));
            }
            if !all && !found.is_empty() {
                break;
            }
        }
        found
    }

    fn finish(self) -> Result<Parsed, RegistryError> {
        if let Some(e) = self.duplicates(false).into_iter().next() {
            return Err(e);
        }
        let Parser { mut entries, conflicts, .. } = self;
        // Already in order when the packer wrote the file: one linear pass.
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Parsed { entries, conflicts })
    }
}

/// Every problem of registry bytes, in file order, rather than the first
/// (`check` reports them all, as a compiler would).
pub fn problems(bytes: &[u8], file: &str) -> Vec<RegistryError> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut parser = Parser::new(file);
    let mut found: Vec<RegistryError> =
        bytes.split(|b| *b == b'\n').filter_map(|line| parser.line(line).err()).collect();
    found.extend(parser.duplicates(true));
    found.sort_by_key(|RegistryError::Invalid { line, .. }| *line);
    found
}

/// Renders entries and conflict records: the records follow the entries,
/// one line each, in the order given.
pub fn render_merged<'a>(entries: impl IntoIterator<Item = &'a Entry>, conflicts: &[Conflict]) -> String {
    let mut out = render(entries);
    for c in conflicts {
        out.push_str(&serde_json::to_string(c).expect("a conflict record serialises"));
        out.push('\n');
    }
    out
}

/// Renders entries (in any order) as registry text.
pub fn render<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    let mut sorted: Vec<&Entry> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = format!("{{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}\n");
    for e in sorted {
        // Serialising a struct of strings, numbers and a JSON map cannot fail.
        out.push_str(&serde_json::to_string(e).expect("registry entry serialises"));
        out.push('\n');
    }
    out
}

/// Replaces the registry file atomically. This is the commit point of every
/// mutation: before it returns, the change has not happened. Returns the
/// hash of the bytes written.
pub fn store<'a>(root: &Path, entries: impl IntoIterator<Item = &'a Entry>) -> std::io::Result<String> {
    let text = render(entries);
    fsutil::write_atomic(&root.join(REGISTRY_FILE), text.as_bytes())?;
    Ok(content_hash(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ContentHash;
    use crate::project::model::Kind;

    fn entry(id: &str, path: &str) -> Entry {
        Entry {
            id: id.into(),
            path: path.into(),
            kind: Kind::Text,
            hash: ContentHash::from_bytes([0; 32]),
            size: 1,
            tags: vec![],
            settings: Default::default(),
        }
    }

    #[test]
    fn render_parse_roundtrip_sorted() {
        let text = render(&[entry("b", "assets/b.txt"), entry("a", "assets/a.txt")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"format":"studio-packer.registry","version":1}"#);
        assert_eq!(
            lines[1],
            r#"{"id":"a","path":"assets/a.txt","kind":"text","hash":"0000000000000000000000000000000000000000000000000000000000000000","size":1,"tags":[],"settings":{}}"#
        );
        let back = parse(&text, "r").unwrap();
        assert_eq!(&*back.entries[0].id, "a");
        assert_eq!(render(&back.entries), text);
    }

    #[test]
    fn errors_name_the_line() {
        let text = format!(
            "{}\n{}\n{{oops\n",
            r#"{"format":"studio-packer.registry","version":1}"#,
            serde_json::to_string(&entry("a", "x/a")).unwrap()
        );
        let RegistryError::Invalid { line, .. } = parse(&text, "r").unwrap_err();
        assert_eq!(line, 3);
        let dup = render(&[entry("a", "x/a")]) + &serde_json::to_string(&entry("a", "x/b")).unwrap();
        assert!(parse(&dup, "r").unwrap_err().to_string().contains("duplicate asset id"));
        let dup = render(&[entry("a", "x/a")]) + &serde_json::to_string(&entry("b", "x/a")).unwrap();
        assert!(parse(&dup, "r").unwrap_err().to_string().contains("duplicate path"));
        assert!(parse("{\"format\":\"x\",\"version\":1}", "r").is_err());
        assert!(parse(&(render(&[]) + r#"{"id":"a","path":"../x","kind":"text","hash":"","size":0}"#), "r").is_err());
    }

    #[test]
    fn conflict_records_round_trip_after_the_entries() {
        let conflict = Conflict {
            conflict: ConflictKind::Field,
            fields: vec!["path".into()],
            base: vec![entry("a", "assets/a.txt")],
            ours: vec![entry("a", "assets/x.txt")],
            theirs: vec![entry("a", "assets/y.txt")],
        };
        let text =
            render_merged(&[entry("a", "assets/x.txt"), entry("b", "assets/b.txt")], std::slice::from_ref(&conflict));
        assert!(text.lines().nth(3).unwrap().starts_with(r#"{"conflict":"field","fields":["path"],"base":[{"id":"a""#));
        let parsed = parse(&text, "r").unwrap();
        assert_eq!((parsed.entries.len(), parsed.conflicts), (2, vec![conflict]));
        let RegistryError::Invalid { line, message, .. } =
            parse(&text.replace(r#""fields":["path"]"#, r#""fields":"path""#), "r").unwrap_err();
        assert_eq!(line, 4, "{message}");
        // A record's entries are checked as the file's own are.
        let RegistryError::Invalid { line, message, .. } =
            parse(&text.replace("assets/y.txt", "../y.txt"), "r").unwrap_err();
        assert_eq!((line, message.as_str()), (4, "`../y.txt` is not a normalised project-relative path"));
    }

    #[test]
    fn problems_lists_every_bad_line_and_every_duplicate() {
        let good = render(&[entry("a", "x/a"), entry("b", "x/b")]);
        let text = format!(
            "{good}{{oops\n{}\n{}\nnot json\n",
            serde_json::to_string(&entry("a", "x/c")).unwrap(),
            serde_json::to_string(&entry("c", "x/b")).unwrap()
        );
        let lines: Vec<(usize, String)> = problems(text.as_bytes(), "r")
            .into_iter()
            .map(|RegistryError::Invalid { line, message, .. }| (line, message))
            .collect();
        assert_eq!(lines.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [4, 5, 6, 7], "{lines:?}");
        assert_eq!(lines[1].1, "duplicate asset id `a`");
        assert_eq!(lines[2].1, "duplicate path `x/b`");
        assert!(problems(good.as_bytes(), "r").is_empty());
        // The first of them is what parsing reports.
        let RegistryError::Invalid { line, .. } = parse(&text, "r").unwrap_err();
        assert_eq!(line, 4);
    }

    #[test]
    fn a_file_read_as_it_streams_parses_and_hashes_as_the_whole_bytes_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REGISTRY_FILE);
        let text = render(&[entry("b", "assets/b.txt"), entry("a", "assets/a.txt")]).replace('\n', "\r\n");
        std::fs::write(&path, &text).unwrap();
        let (entries, hash) = read(&path, "r").unwrap();
        assert_eq!(entries.unwrap(), parse_bytes(text.as_bytes(), "r").unwrap());
        assert_eq!(hash, content_hash(text.as_bytes()));
        std::fs::write(&path, format!("{text}{{oops\r\n")).unwrap();
        let RegistryError::Invalid { line, .. } = read(&path, "r").unwrap().0.unwrap_err();
        assert_eq!(line, 4);
        let (missing, hash) = read(&dir.path().join("none"), "r").unwrap();
        assert_eq!((missing.unwrap(), hash), (Parsed::default(), content_hash(b"")));
    }
}
