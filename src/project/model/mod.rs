//! The vocabulary of a project, shared by every layer above: what an
//! asset is (`Kind`), what the registry says of it (`Entry`), what the disk
//! says of it (`Observed`, `Metadata`, `Problem`), both together (`Asset`,
//! `Status`) and what is wrong with it (`Diagnostic`, `Severity`).
//!
//! The rules of a path (`paths`: how a path in the registry and from a
//! client is written, and which paths are valid) are here too.
//!
//! The leaf of `project`: nothing here imports another module of it, so any
//! of them can use these types without a cycle.

pub mod paths;
pub mod references;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hash::ContentHash;

/// What an asset is, decided by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Image,
    Audio,
    Data,
    Text,
    Font,
    Binary,
    /// A glTF model (`.gltf`, `.glb`), copied as it is; a `.gltf` file's
    /// buffers and images are references.
    Model,
}

impl Kind {
    // Codes are places in this list: a new kind goes at the end.
    pub const ALL: [Kind; 7] =
        [Kind::Image, Kind::Audio, Kind::Data, Kind::Text, Kind::Font, Kind::Binary, Kind::Model];

    /// The kind's number in the packer's binary files (its place in `ALL`).
    pub fn code(self) -> u8 {
        Kind::ALL.iter().position(|x| *x == self).expect("every kind is in ALL") as u8
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(code)).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Audio => "audio",
            Kind::Data => "data",
            Kind::Text => "text",
            Kind::Font => "font",
            Kind::Binary => "binary",
            Kind::Model => "model",
        }
    }

    /// The kind of a path, from its extension (case-insensitive).
    pub fn of_path(path: &str) -> Kind {
        let ext = extension(path);
        match ext.as_str() {
            "png" | "jpg" | "jpeg" | "gif" | "bmp" | "webp" | "tga" | "tif" | "tiff" | "ico" | "dds" | "psd"
            | "exr" | "hdr" | "qoi" | "ktx2" => Kind::Image,
            "wav" | "ogg" | "oga" | "mp3" | "flac" | "opus" | "aif" | "aiff" => Kind::Audio,
            "json" | "toml" | "yaml" | "yml" | "csv" | "xml" | "ron" | "ini" => Kind::Data,
            "txt" | "md" | "text" | "po" | "lua" | "glsl" | "hlsl" | "wgsl" | "vert" | "frag" | "shader" => Kind::Text,
            "ttf" | "otf" | "woff" | "woff2" | "fnt" => Kind::Font,
            "gltf" | "glb" => Kind::Model,
            _ => Kind::Binary,
        }
    }
}

pub(crate) fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rfind('.') {
        Some(i) if i > 0 => name[i + 1..].to_ascii_lowercase(),
        _ => String::new(),
    }
}

// A struct rather than a JSON map: at 100,000 assets a map per asset costs
// more memory than everything else the packer keeps of it. Fields are in
// alphabetical order, so the JSON is what a sorted map gave.
/// The cheap metadata read from a file's header (image size, audio format,
/// text lines…): the fields that apply to its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_sample: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A sound's codec: `pcm`, `adpcm`, `flac`, `vorbis` or `mp3`.
    pub codec: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    /// A sound's integrated loudness (EBU R128, ITU-R BS.1770-4) in LUFS, to
    /// a hundredth; absent when the standard gives none (no 400 ms block
    /// above the -70 LUFS gate: a click, silence).
    pub loudness_lufs: Option<Decibels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `true` while a sound's loudness is not measured yet (it is measured
    /// after the sound is looked at, off the open); absent once it is, and
    /// then `loudnessLufs` and `truePeakDbtp` are the figures.
    pub loudness_pending: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    /// A sound's true peak (4x oversampled, the loudest channel) in dBTP, to
    /// a hundredth; absent for pure silence.
    pub true_peak_dbtp: Option<Decibels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
}

impl Metadata {
    /// Whether this is a sound's whose loudness is not measured yet.
    pub fn loudness_is_pending(&self) -> bool {
        self.loudness_pending == Some(true)
    }

    /// These metadata with a sound's loudness figures, measured.
    pub fn with_loudness(&self, lufs: Option<Decibels>, true_peak: Option<Decibels>) -> Metadata {
        Metadata { loudness_pending: None, loudness_lufs: lufs, true_peak_dbtp: true_peak, ..self.clone() }
    }
}

// Hundredths, so that metadata stays `Eq` and `Hash` and a figure reads
// the same after a round trip through the stat cache.
/// A level in decibels (LUFS, dBTP), to a hundredth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decibels(i32);

impl Decibels {
    /// `None` for a level that is not a finite number.
    pub fn new(db: f64) -> Option<Decibels> {
        db.is_finite().then(|| Decibels((db.clamp(-1000.0, 1000.0) * 100.0).round() as i32))
    }

    pub fn from_hundredths(h: i32) -> Decibels {
        Decibels(h)
    }

    pub fn hundredths(self) -> i32 {
        self.0
    }

    pub fn db(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl Serialize for Decibels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.db())
    }
}

impl<'de> Deserialize<'de> for Decibels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let db = f64::deserialize(d)?;
        Decibels::new(db).ok_or_else(|| serde::de::Error::custom("a level must be a finite number"))
    }
}

// The packer's own spellings are static, anything else is owned.
/// A short name in metadata (`png`, `utf-8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Name(std::borrow::Cow<'static, str>);

/// Every name the packer writes itself, so that reading the stat cache
/// shares them instead of allocating one per asset.
const NAMES: &[&str] = &[
    "utf-8", "png", "jpeg", "gif", "bmp", "webp", "tga", "tiff", "ico", "dds", "psd", "exr", "hdr", "qoi", "ktx2",
    "wav", "ogg", "flac", "mp3", "aiff", "pcm", "adpcm", "vorbis", "unknown", "json", "toml", "yaml", "yml", "csv",
    "xml", "ron", "ini", "truetype", "opentype", "woff", "woff2", "bitmap",
];

impl Name {
    pub fn new(s: &str) -> Name {
        match NAMES.iter().find(|n| **n == s) {
            Some(n) => Name(std::borrow::Cow::Borrowed(n)),
            None => Name(std::borrow::Cow::Owned(s.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Name::new(&s))
    }
}

/// What the packer observed of one file on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub hash: ContentHash,
    pub size: u64,
    /// Shared, not copied, between the stat cache and the snapshots.
    pub metadata: Arc<Metadata>,
    /// Problems with the content; the caller adds the asset id and path.
    /// (Boxed: 8 bytes less on every entry of the stat cache.)
    pub problems: Box<[Problem]>,
    /// The assets the file names, in the order they are written.
    pub references: Arc<[references::Reference]>,
}

/// A problem found in a file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub severity: Severity,
    pub code: String,
    pub message: String,
}

/// One registered asset as stored. Field order is the on-disk key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    // Shared, not copied, by the snapshot's maps and the stat cache.
    /// The asset's id: stable for its life, whatever its path.
    #[serde(deserialize_with = "shared_str")]
    #[schemars(with = "crate::protocol::model::AssetId")]
    pub id: Arc<str>,
    /// Relative to the project root, with `/` separators.
    #[serde(deserialize_with = "shared_str")]
    #[schemars(with = "crate::protocol::model::RelativePath")]
    pub path: Arc<str>,
    pub kind: Kind,
    pub hash: ContentHash,
    pub size: u64,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schemars(with = "Map<String, Value>")]
    pub settings: Settings,
}

/// An asset's own settings, a map of names to values. Most assets have
/// none and hold no map at all: 8 bytes, not a map's 24, put an asset in
/// a smaller allocation (1.6 MB at 100,000 assets). Read and changed as
/// the map it derefs to; on the wire and on disk it is that map.
#[derive(Debug, Clone, Default)]
pub struct Settings(Option<Box<Map<String, Value>>>);

impl From<Map<String, Value>> for Settings {
    fn from(map: Map<String, Value>) -> Settings {
        Settings((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl std::ops::Deref for Settings {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        static NONE: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        self.0.as_deref().unwrap_or(&NONE)
    }
}

impl std::ops::DerefMut for Settings {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for Settings {
    fn eq(&self, other: &Settings) -> bool {
        **self == **other
    }
}

impl Serialize for Settings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Settings, D::Error> {
        Map::deserialize(d).map(Settings::from)
    }
}

/// An `Arc<str>` made straight from the text (serde's own goes through a
/// `String` and a second copy: two allocations per field of every entry).
fn shared_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
    struct Shared;
    impl serde::de::Visitor<'_> for Shared {
        type Value = Arc<str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Arc<str>, E> {
            Ok(Arc::from(s))
        }
    }
    d.deserialize_str(Shared)
}

/// Ordered most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

// The one type for all of them. The codes differ by context, and so does
// the schema of `code`: `DiagnosticCode` here (assets, the project,
// builds); a blocker's, a warning's and a check finding's are in the
// protocol model (`BlockerCode`, `WarningCode`, `FindingCode`).
/// Something wrong, and where: on an asset or the project, in a build, in a
/// mutation's plan (a blocker is an `error`, a warning a `warning`), or in a
/// file `studio-packer check` reads (with its line and column).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Diagnostic {
    pub severity: Severity,
    #[schemars(with = "DiagnosticCode")]
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::protocol::model::AssetId>")]
    pub asset_id: Option<String>,
    /// Project-relative: an asset's path, or the project file concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based, in the file at `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub line: Option<usize>,
    /// 1-based, on `line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub column: Option<usize>,
}

impl Diagnostic {
    /// A diagnostic of the project (no asset), at no line.
    pub fn project(severity: Severity, code: &str, message: String, path: Option<String>) -> Self {
        Diagnostic { severity, code: code.to_string(), message, asset_id: None, path, line: None, column: None }
    }

    /// What stops a mutation: a blocker is an `error`.
    pub fn blocker(code: &str, message: String, asset_id: Option<&str>, path: Option<&str>) -> Self {
        Diagnostic::about(Severity::Error, code, message, asset_id, path)
    }

    /// What a client should know that stops nothing (a mutation's warning).
    pub fn warning(code: &str, message: String, asset_id: Option<&str>, path: Option<&str>) -> Self {
        Diagnostic::about(Severity::Warning, code, message, asset_id, path)
    }

    /// A diagnostic at a place in a project file (`line` and `column` 1-based),
    /// as `check` reports one.
    pub fn at(
        severity: Severity,
        code: &str,
        message: String,
        path: &str,
        line: Option<usize>,
        column: Option<usize>,
    ) -> Self {
        Diagnostic { line, column, ..Diagnostic::project(severity, code, message, Some(path.to_string())) }
    }

    /// The same diagnostic about the asset `asset_id` (none: about no asset).
    pub fn with_asset(self, asset_id: Option<&str>) -> Self {
        Diagnostic { asset_id: asset_id.map(str::to_string), ..self }
    }

    fn about(severity: Severity, code: &str, message: String, asset_id: Option<&str>, path: Option<&str>) -> Self {
        Diagnostic::project(severity, code, message, path.map(str::to_string)).with_asset(asset_id)
    }
}

// The protocol's list of codes: a code the packer sends must be here (the
// schemas carry it and the tests validate real answers against them).
// Blockers, warnings and check findings have lists of their own.
/// Every code a diagnostic of an asset, of the project or of a build may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DiagnosticCode {
    InvalidUtf8,
    ImageUnreadable,
    AudioUnreadable,
    InvalidJson,
    InvalidToml,
    FontUnreadable,
    Unreadable,
    UnrepresentableName,
    SymlinkIgnored,
    Diverged,
    InvalidSetting,
    CacheWrite,
    OutputUnwritable,
    PackWrite,
    Unpacked,
    Recovered,
    RecoveryFailed,
    RemoteCacheConfig,
    RemoteCacheCorrupt,
    RemoteCacheDisabled,
    RemoteCacheRefused,
    RemoteCacheUploads,
    NoMaxSize,
    InBuildOutput,
    StateFolderRefused,
    TextureInvalid,
    TextureCooked,
    AudioEncode,
    SoundCooked,
    UnknownTarget,
    BrokenReference,
    TooManyReferences,
}

/// An asset's status, in the order of precedence used to pick one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Ok,
    Invalid,
    Modified,
    Missing,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Ok, Status::Invalid, Status::Modified, Status::Missing];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Invalid => "invalid",
            Status::Modified => "modified",
            Status::Missing => "missing",
        }
    }
}

/// A registered asset: its registry entry and what the packer observed on disk.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Asset {
    #[serde(flatten)]
    pub entry: Entry,
    pub metadata: Arc<Metadata>,
    pub status: Status,
    // Boxed, not a `Vec`: 8 bytes less puts an asset in a smaller
    // allocation (1.6 MB at 100,000 assets), and most have none.
    pub diagnostics: Box<[Diagnostic]>,
    /// Hash of the file as last read from disk, when it differs from the
    /// registry (boxed: rarely set, and 32 bytes more on every asset).
    #[serde(skip)]
    pub disk_hash: Option<Box<ContentHash>>,
    /// The assets the file names, as last read from disk (the graph's edges;
    /// on the wire through `packer/references`).
    #[serde(skip)]
    pub references: Arc<[references::Reference]>,
}

impl Asset {
    /// The one place an asset's status and diagnostics are decided from what
    /// was read on disk (`None`: the file does not exist).
    pub fn from_observation(entry: Entry, observed: Option<Observed>) -> Asset {
        let Some(obs) = observed else {
            return Asset {
                entry,
                metadata: Arc::default(),
                status: Status::Missing,
                diagnostics: Box::default(),
                disk_hash: None,
                references: references::shared(Vec::new()),
            };
        };
        let diagnostics: Vec<Diagnostic> = obs
            .problems
            .into_vec()
            .into_iter()
            .map(|p| Diagnostic {
                severity: p.severity,
                code: p.code,
                message: p.message,
                asset_id: Some(entry.id.to_string()),
                path: Some(entry.path.to_string()),
                line: None,
                column: None,
            })
            .collect();
        let modified = obs.hash != entry.hash;
        let status = if modified {
            Status::Modified
        } else if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            Status::Invalid
        } else {
            Status::Ok
        };
        let disk_hash = modified.then(|| Box::new(obs.hash));
        let diagnostics = diagnostics.into_boxed_slice();
        Asset { entry, metadata: obs.metadata, status, diagnostics, disk_hash, references: obs.references }
    }

    /// The hash of the file as last read: the registry's, unless the file
    /// was found to differ.
    pub fn hash_on_disk(&self) -> ContentHash {
        self.disk_hash.as_deref().copied().unwrap_or(self.entry.hash)
    }

    pub fn id(&self) -> &str {
        &self.entry.id
    }

    pub fn path(&self) -> &str {
        &self.entry.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn a_blocker_is_an_error_and_a_warning_a_warning() {
        let b = Diagnostic::blocker("notFound", "no file".into(), None, Some("assets/a.txt"));
        let expected = json!({"severity": "error", "code": "notFound", "message": "no file", "path": "assets/a.txt"});
        assert_eq!(serde_json::to_value(&b).unwrap(), expected);
        let w = Diagnostic::warning("noChange", "the same".into(), Some("a1"), None);
        let expected = json!({"severity": "warning", "code": "noChange", "message": "the same", "assetId": "a1"});
        assert_eq!(serde_json::to_value(&w).unwrap(), expected);
    }

    #[test]
    fn line_and_column_are_on_the_wire_only_when_known() {
        let d = Diagnostic::at(Severity::Error, "manifestInvalid", "bad".into(), "packer.toml", Some(3), Some(7));
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(
            text,
            r#"{"severity":"error","code":"manifestInvalid","message":"bad","path":"packer.toml","line":3,"column":7}"#
        );
        assert_eq!(serde_json::from_str::<Diagnostic>(&text).unwrap(), d);
        let d = Diagnostic::at(Severity::Warning, "missing", "gone".into(), "r.jsonl", Some(2), None)
            .with_asset(Some("a1"));
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(
            text,
            r#"{"severity":"warning","code":"missing","message":"gone","assetId":"a1","path":"r.jsonl","line":2}"#
        );
        // A diagnostic written before lines existed still reads.
        let old: Diagnostic = serde_json::from_str(r#"{"severity":"info","code":"x","message":"m"}"#).unwrap();
        assert_eq!(old, Diagnostic::project(Severity::Info, "x", "m".into(), None));
    }
}
#[cfg(test)]
mod size_tests {
    /// An `Arc<Asset>` is one allocation per asset: the `Arc`'s counts add
    /// 16 bytes and glibc 8, so 168 bytes put it in the 192-byte class
    /// (at 176 it takes 208: 1.6 MB more at 100,000 assets).
    #[test]
    fn an_asset_stays_in_its_allocation_class() {
        assert!(std::mem::size_of::<super::Asset>() <= 168, "{}", std::mem::size_of::<super::Asset>());
    }
}
