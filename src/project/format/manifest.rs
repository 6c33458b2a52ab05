//! `packer.toml`, the manifest people write.
//!
//! Parsing is strict: an unknown key or a wrong type is an error that names
//! the file, the line and the key, because a silently ignored typo in a
//! manifest (`exclud = [...]`) would change what the packer registers.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::project::model::paths;

pub const MANIFEST_FILE: &str = "packer.toml";

/// The most threads a build may be given (`[build] threads`, `STUDIO_PACKER_THREADS`).
pub const MAX_THREADS: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "{file}: not found: a packer project needs a `packer.toml` at its root (create one with `studio-packer init`)"
    )]
    Missing { file: String },
    #[error("{file}: cannot be read: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid { file: String, line: usize, column: usize, key: Option<String>, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    project: RawProject,
    #[serde(default)]
    assets: RawAssets,
    #[serde(default)]
    build: RawBuild,
    #[serde(default)]
    cache: RawCache,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    max_size: Option<RawSize>,
    remote: Option<RawRemote>,
}

/// A size as written: a number of bytes, or text such as `"10 GiB"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSize {
    Bytes(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemote {
    url: String,
    #[serde(default)]
    mode: RemoteMode,
    endpoint: Option<String>,
    region: Option<String>,
    connect_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    requests_in_flight: Option<usize>,
}

/// What a build may do with the shared remote cache.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteMode {
    /// Use entries, never upload (the default: people read what CI wrote).
    #[default]
    Read,
    /// Use entries and upload new ones (for CI).
    ReadWrite,
    /// Do not use the remote at all.
    Off,
}

impl RemoteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteMode::Read => "read",
            RemoteMode::ReadWrite => "read-write",
            RemoteMode::Off => "off",
        }
    }

    pub fn parse(text: &str) -> Option<RemoteMode> {
        match text {
            "read" => Some(RemoteMode::Read),
            "read-write" => Some(RemoteMode::ReadWrite),
            "off" => Some(RemoteMode::Off),
            _ => None,
        }
    }
}

/// `[cache.remote]`: where a studio's shared processing cache is. Never
/// holds a credential (`packer.toml` is committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSettings {
    /// `s3://bucket/prefix` or `http(s)://host/prefix`, without a trailing `/`.
    pub url: String,
    pub mode: RemoteMode,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub connect_timeout_ms: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    /// Requests at once, at most (lookups; uploads too).
    pub requests_in_flight: Option<usize>,
}

/// `[cache]`: the local processing cache's bound and the shared remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSettings {
    /// Bytes the local cache may hold; the least recently used entries go beyond it.
    pub max_size: Option<u64>,
    pub remote: Option<RemoteSettings>,
}

/// Parses a size: `1048576`, `"512 MB"`, `"10GiB"` (units up to TiB; KB,
/// MB... are powers of 1000, KiB, MiB... of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let bytes = value * factor as f64;
    (bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssets {
    #[serde(default = "default_roots")]
    roots: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    rules: Vec<toml::Spanned<RawRule>>,
}

impl Default for RawAssets {
    fn default() -> Self {
        RawAssets { roots: default_roots(), exclude: Vec::new(), rules: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    patterns: Vec<String>,
    settings: toml::Table,
}

/// An import rule, `[[assets.rules]]`: settings for every asset whose
/// project path one of its patterns matches. An asset's effective settings
/// are the defaults, then every matching rule in file order, then its own.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The patterns as written.
    pub patterns: Vec<String>,
    set: GlobSet,
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The line of `packer.toml` the rule starts at (1-based).
    pub line: usize,
}

impl Rule {
    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

fn default_roots() -> Vec<String> {
    vec!["assets".to_string()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    #[serde(default = "default_output")]
    output: String,
    #[serde(default)]
    packs: Vec<RawPack>,
    #[serde(default = "default_level")]
    zstd_level: i32,
    #[serde(default)]
    targets: Vec<RawTarget>,
    threads: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    profile: Profile,
}

/// What kind of GPU and audio device a target's packs are cooked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// PCs and consoles: the BC family of block-compressed textures.
    Desktop,
    /// Phones and tablets: ASTC block-compressed textures.
    Mobile,
    /// RGBA8 textures, for tools and debugging.
    Uncompressed,
}

impl Profile {
    pub const ALL: &[Profile] = &[Profile::Desktop, Profile::Mobile, Profile::Uncompressed];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Desktop => "desktop",
            Profile::Mobile => "mobile",
            Profile::Uncompressed => "uncompressed",
        }
    }
}

/// A platform the build cooks packs for: `[[build.targets]]`. Its packs go
/// under `<output>/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub profile: Profile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
    include: Option<Vec<String>>,
    roots: Option<Vec<String>>,
}

impl Default for RawBuild {
    fn default() -> Self {
        RawBuild {
            output: default_output(),
            packs: Vec::new(),
            zstd_level: default_level(),
            targets: Vec::new(),
            threads: None,
        }
    }
}

fn default_level() -> i32 {
    3
}

/// A pack the build writes: its name and the assets it holds.
#[derive(Debug, Clone)]
pub struct PackDef {
    pub name: String,
    pub include: Vec<String>,
    set: GlobSet,
    /// Globs of the assets the pack holds with everything they reference.
    pub roots: Vec<String>,
    roots_set: GlobSet,
    /// The pack nobody declared: it holds every asset.
    everything: bool,
}

impl PackDef {
    /// Whether `include` matches `path` (the roots' closure is the
    /// build's to add: see `build::membership`).
    pub fn includes(&self, path: &str) -> bool {
        self.everything || self.set.is_match(path)
    }

    pub fn has_roots(&self) -> bool {
        !self.roots.is_empty()
    }

    pub fn is_root(&self, path: &str) -> bool {
        self.roots_set.is_match(path)
    }

    /// Whether this is the pack nobody declared, which holds every asset.
    pub fn holds_everything(&self) -> bool {
        self.everything
    }
}

fn default_output() -> String {
    "build".to_string()
}

/// The validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    /// Asset roots, normalised relative paths.
    pub roots: Vec<String>,
    /// The exclude patterns as written.
    pub exclude: Vec<String>,
    exclude_set: GlobSet,
    /// Import rules, in file order.
    pub rules: Vec<Rule>,
    /// Build output folder, a normalised relative path.
    pub output: String,
    /// The packs to build; one pack `main` with every asset when none is declared.
    pub packs: Vec<PackDef>,
    /// zstd level for pack entries (1 to 19).
    pub zstd_level: i32,
    /// The targets a build cooks for, in file order; `desktop` alone when
    /// none is declared.
    pub targets: Vec<Target>,
    /// Threads a build processes assets on (`None`: one per core).
    pub threads: Option<usize>,
    pub cache: CacheSettings,
}

impl Manifest {
    /// Reads and validates `packer.toml` under `root`.
    pub fn load(root: &Path) -> Result<Manifest, ManifestError> {
        let path = root.join(MANIFEST_FILE);
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ManifestError::Missing { file }),
            Err(source) => return Err(ManifestError::Io { file, source }),
        };
        Manifest::parse(&text, &file)
    }

    /// Parses manifest text; `file` is only used in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let message = e.message().trim().to_string();
            // `unknown field `x``, `missing field `x``; but `unknown variant `v`` quotes a value.
            let key = (!message.starts_with("unknown variant")).then(|| message.split('`').nth(1)).flatten();
            let key = key.map(str::to_string);
            ManifestError::Invalid { file: file.to_string(), line, column, key, message }
        })?;
        let invalid = |key: &str, message: String| {
            let (line, column) = find_key(text, key);
            ManifestError::Invalid { file: file.to_string(), line, column, key: Some(key.to_string()), message }
        };
        if raw.project.name.trim().is_empty() {
            return Err(invalid("name", "`project.name` must not be empty".into()));
        }
        let mut roots = Vec::new();
        for r in &raw.assets.roots {
            let norm = paths::normalize(r)
                .map_err(|p| invalid("roots", format!("`assets.roots` entry `{r}`: {}", p.message)))?;
            roots.push(norm);
        }
        if roots.is_empty() {
            return Err(invalid("roots", "`assets.roots` must name at least one folder".into()));
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in &raw.assets.exclude {
            let glob = Glob::new(pattern)
                .map_err(|e| invalid("exclude", format!("`assets.exclude` pattern `{pattern}`: {}", e.kind())))?;
            builder.add(glob);
        }
        let exclude_set = builder.build().map_err(|e| invalid("exclude", format!("`assets.exclude`: {e}")))?;
        let output = paths::normalize(&raw.build.output)
            .map_err(|p| invalid("output", format!("`build.output` `{}`: {}", raw.build.output, p.message)))?;
        let mut packs = Vec::new();
        for p in &raw.build.packs {
            if !valid_name(&p.name) {
                return Err(invalid(
                    "name",
                    format!("pack name `{}` must be 1 to 64 letters, digits, `-` or `_`", p.name),
                ));
            }
            if packs.iter().any(|d: &PackDef| d.name == p.name) {
                return Err(invalid("name", format!("two packs are named `{}`", p.name)));
            }
            if p.include.is_none() && p.roots.is_none() {
                // At the pack's own `name` line.
                let (line, column) = find_value(text, "name", &p.name, 0);
                let message = format!("pack `{}` names neither `include` nor `roots`", p.name);
                return Err(ManifestError::Invalid {
                    file: file.to_string(),
                    line,
                    column,
                    key: Some("name".into()),
                    message,
                });
            }
            let (include, roots) = (p.include.clone().unwrap_or_default(), p.roots.clone().unwrap_or_default());
            let globs = |key: &str, patterns: &[String]| -> Result<GlobSet, ManifestError> {
                let mut builder = GlobSetBuilder::new();
                for pattern in patterns {
                    let glob = Glob::new(pattern).map_err(|e| {
                        invalid(key, format!("pack `{}`: {key} pattern `{pattern}`: {}", p.name, e.kind()))
                    })?;
                    builder.add(glob);
                }
                builder.build().map_err(|e| invalid(key, format!("pack `{}`: {e}", p.name)))
            };
            packs.push(PackDef {
                name: p.name.clone(),
                set: globs("include", &include)?,
                include,
                roots_set: globs("roots", &roots)?,
                roots,
                everything: false,
            });
        }
        if packs.is_empty() {
            let set = GlobSetBuilder::new().build().expect("an empty glob set builds");
            packs.push(PackDef {
                name: "main".into(),
                include: vec!["**".into()],
                set: set.clone(),
                roots: Vec::new(),
                roots_set: set,
                everything: true,
            });
        }
        if !(1..=19).contains(&raw.build.zstd_level) {
            return Err(invalid(
                "zstd_level",
                format!("`build.zstd_level` must be 1 to 19, not {}", raw.build.zstd_level),
            ));
        }
        let targets = targets(&raw.build.targets, text, file)?;
        if raw.build.threads.is_some_and(|n| !(1..=MAX_THREADS).contains(&n)) {
            return Err(invalid("threads", format!("`build.threads` must be 1 to {MAX_THREADS}")));
        }
        let rules = rules(raw.assets.rules, &targets, text, file)?;
        let cache = cache_settings(raw.cache, &invalid)?;
        Ok(Manifest {
            targets,
            threads: raw.build.threads,
            rules,
            cache,
            name: raw.project.name,
            roots,
            exclude: raw.assets.exclude,
            exclude_set,
            output,
            packs,
            zstd_level: raw.build.zstd_level,
        })
    }

    /// The declared target named `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Where target `name`'s packs go, relative to the project root.
    pub fn target_output(&self, name: &str) -> String {
        format!("{}/{name}", self.output)
    }

    /// Whether a relative path is excluded from the workspace: by a pattern,
    /// or because it lies in the build output.
    pub fn is_excluded(&self, rel: &str) -> bool {
        if self.in_output(rel) {
            return true;
        }
        self.exclude_set.is_match(rel) || rel.rsplit('/').next().is_some_and(|name| self.exclude_set.is_match(name))
    }

    /// Whether a relative path is the build output or lies in it: where a
    /// build writes, so never an asset's place.
    pub fn in_output(&self, rel: &str) -> bool {
        rel.strip_prefix(self.output.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Whether a relative path lies under one of the asset roots.
    pub fn under_roots(&self, rel: &str) -> bool {
        self.roots.iter().any(|r| rel.len() > r.len() && rel.starts_with(r.as_str()) && rel.as_bytes()[r.len()] == b'/')
    }

    /// The text `studio-packer init` writes.
    pub fn template(name: &str) -> String {
        format!(
            "[project]\nname = {name:?}\n\n[assets]\nroots = [\"assets\"]\nexclude = [\"**/*.tmp\", \"**/.DS_Store\"]\n\n[build]\noutput = \"build\"\n"
        )
    }
}

/// A pack or target name: 1 to 64 letters, digits, `-` or `_` (a file or
/// folder name on every system).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Validates `[[build.targets]]`; an error names the line of the target's `name`.
fn targets(raw: &[RawTarget], text: &str, file: &str) -> Result<Vec<Target>, ManifestError> {
    let mut targets: Vec<Target> = Vec::with_capacity(raw.len().max(1));
    for t in raw {
        let nth = targets.iter().filter(|d| d.name == t.name).count();
        let bad = |message: String| {
            let (line, column) = find_value(text, "name", &t.name, nth);
            ManifestError::Invalid { file: file.to_string(), line, column, key: Some("name".into()), message }
        };
        if !valid_name(&t.name) {
            return Err(bad(format!("target name `{}` must be 1 to 64 letters, digits, `-` or `_`", t.name)));
        }
        if targets.iter().any(|d| d.name == t.name) {
            return Err(bad(format!("two targets are named `{}`", t.name)));
        }
        targets.push(Target { name: t.name.clone(), profile: t.profile });
    }
    if targets.is_empty() {
        targets.push(Target { name: "desktop".into(), profile: Profile::Desktop });
    }
    Ok(targets)
}

/// Validates `[[assets.rules]]`: patterns, and every setting (a setting a
/// rule gives must be one some kind of asset has, with a value it takes).
/// An error names the key and the rule's line.
fn rules(
    raw: Vec<toml::Spanned<RawRule>>,
    targets: &[Target],
    text: &str,
    file: &str,
) -> Result<Vec<Rule>, ManifestError> {
    let mut rules = Vec::with_capacity(raw.len());
    for spanned in raw {
        let (line, column) = line_col(text, spanned.span().start);
        let bad = |key: &str, message: String| ManifestError::Invalid {
            file: file.to_string(),
            line,
            column,
            key: Some(key.to_string()),
            message: format!("[[assets.rules]] {message}"),
        };
        let r = spanned.into_inner();
        if r.patterns.is_empty() {
            return Err(bad("match", "`match` must hold at least one pattern".into()));
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in &r.patterns {
            let glob = Glob::new(pattern).map_err(|e| bad("match", format!("pattern `{pattern}`: {}", e.kind())))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| bad("match", e.to_string()))?;
        let settings = match serde_json::to_value(&r.settings) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(bad("settings", "`settings` must be a table of settings".into())),
        };
        // The first problem, as for every other key of the manifest.
        if let Some(problem) = crate::build::settings::check_rule(&settings, targets).into_iter().next() {
            return Err(bad(&problem.key, format!("setting `{}`: {}", problem.key, problem.message)));
        }
        rules.push(Rule { patterns: r.patterns, set, settings, line });
    }
    Ok(rules)
}

/// Validates `[cache]`.
fn cache_settings(
    raw: RawCache,
    invalid: &dyn Fn(&str, String) -> ManifestError,
) -> Result<CacheSettings, ManifestError> {
    let max_size = match raw.max_size {
        None => None,
        Some(RawSize::Bytes(n)) => {
            Some(u64::try_from(n).map_err(|_| invalid("max_size", format!("`cache.max_size` {n} is negative")))?)
        }
        Some(RawSize::Text(t)) => Some(parse_size(&t).ok_or_else(|| {
            invalid("max_size", format!("`cache.max_size` `{t}`: not a size (write bytes, or e.g. \"10 GiB\")"))
        })?),
    };
    let remote = match raw.remote {
        None => None,
        Some(r) => {
            let url = r.url.trim_end_matches('/').to_string();
            let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
            if !matches!(scheme, "s3" | "http" | "https") || rest.is_empty() || rest.starts_with('/') {
                return Err(invalid(
                    "url",
                    format!("`cache.remote.url` `{}`: write s3://bucket/prefix or https://host/prefix", r.url),
                ));
            }
            if rest.contains('@') {
                return Err(invalid(
                    "url",
                    "`cache.remote.url` must not hold a credential: packer.toml is committed (see the README on credentials)"
                        .into(),
                ));
            }
            for (key, value) in
                [("connect_timeout_ms", r.connect_timeout_ms), ("request_timeout_ms", r.request_timeout_ms)]
            {
                if value.is_some_and(|ms| !(1..=600_000).contains(&ms)) {
                    return Err(invalid(key, format!("`cache.remote.{key}` must be 1 to 600000")));
                }
            }
            if r.requests_in_flight.is_some_and(|n| !(1..=1024).contains(&n)) {
                return Err(invalid(
                    "requests_in_flight",
                    "`cache.remote.requests_in_flight` must be 1 to 1024".into(),
                ));
            }
            if let Some(e) = &r.endpoint {
                if !(e.starts_with("http://") || e.starts_with("https://")) {
                    return Err(invalid(
                        "endpoint",
                        format!("`cache.remote.endpoint` `{e}`: write http(s)://host:port"),
                    ));
                }
            }
            Some(RemoteSettings {
                url,
                mode: r.mode,
                endpoint: r.endpoint,
                region: r.region,
                connect_timeout_ms: r.connect_timeout_ms,
                request_timeout_ms: r.request_timeout_ms,
                requests_in_flight: r.requests_in_flight,
            })
        }
    };
    Ok(CacheSettings { max_size, remote })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, column)
}

/// Best-effort position of `key = ...` for errors found after parsing.
fn find_key(text: &str, key: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
            return (i + 1, line.len() - t.len() + 1);
        }
    }
    (1, 1)
}

/// Best-effort position of the `nth` (from 0) line `key = "value"`: the
/// line of one named table in an array of tables.
fn find_value(text: &str, key: &str, value: &str, nth: usize) -> (usize, usize) {
    let quoted = format!("{value:?}");
    let found = text.lines().enumerate().filter_map(|(i, line)| {
        let t = line.trim_start();
        let rest = t.strip_prefix(key)?.trim_start().strip_prefix('=')?;
        rest.trim_start().starts_with(&quoted).then_some((i + 1, line.len() - t.len() + 1))
    });
    found.clone().nth(nth).or_else(|| found.last()).unwrap_or_else(|| find_key(text, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, Option<String>, String) {
        match Manifest::parse(text, "packer.toml").unwrap_err() {
            ManifestError::Invalid { line, key, message, .. } => (line, key, message),
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn defaults() {
        let m = Manifest::parse("[project]\nname = \"x\"\n", "packer.toml").unwrap();
        assert_eq!(m.roots, vec!["assets"]);
        assert_eq!(m.output, "build");
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let (line, key, _) = err("[project]\nname = \"x\"\n[assets]\nrots = [\"a\"]\n");
        assert_eq!(line, 4);
        assert_eq!(key.as_deref(), Some("rots"));
    }

    #[test]
    fn type_error_names_line() {
        let (line, _, message) = err("[project]\nname = 3\n");
        assert_eq!(line, 2);
        assert!(message.contains("string"), "{message}");
    }

    #[test]
    fn a_pack_names_include_or_roots() {
        let pack = |body: &str| format!("[project]\nname = \"x\"\n[[build.packs]]\nname = \"p\"\n{body}");
        let (line, key, message) = err(&pack(""));
        assert_eq!((line, key.as_deref()), (4, Some("name")), "{message}");
        assert!(message.contains("neither `include` nor `roots`"), "{message}");
        let (line, key, _) = err(&pack("roots = [\"a[\"]\n"));
        assert_eq!((line, key.as_deref()), (5, Some("roots")));
        let m = Manifest::parse(&pack("roots = [\"assets/levels/*.json\"]\n"), "packer.toml").unwrap();
        assert!(m.packs[0].has_roots() && m.packs[0].is_root("assets/levels/a.json") && !m.packs[0].includes("x"));
    }

    #[test]
    fn bad_glob_and_bad_root() {
        let (line, key, _) = err("[project]\nname = \"x\"\n[assets]\nexclude = [\"a[\"]\n");
        assert_eq!((line, key.as_deref()), (4, Some("exclude")));
        let (line, key, _) = err("[project]\nname = \"x\"\n[assets]\nroots = [\"../up\"]\n");
        assert_eq!((line, key.as_deref()), (4, Some("roots")));
    }

    #[test]
    fn cache_settings() {
        let base = "[project]\nname = \"x\"\n";
        let m = Manifest::parse(base, "packer.toml").unwrap();
        assert_eq!(m.cache, CacheSettings::default());
        let text = format!(
            "{base}[cache]\nmax_size = \"2 GiB\"\n[cache.remote]\nurl = \"s3://bucket/team/\"\nendpoint = \"http://127.0.0.1:9000\"\nrequest_timeout_ms = 500\n"
        );
        let m = Manifest::parse(&text, "packer.toml").unwrap();
        assert_eq!(m.cache.max_size, Some(2 << 30));
        let remote = m.cache.remote.unwrap();
        assert_eq!((remote.url.as_str(), remote.mode), ("s3://bucket/team", RemoteMode::Read));
        assert_eq!(remote.request_timeout_ms, Some(500));
        let m = Manifest::parse(&format!("{base}[cache.remote]\nurl = \"https://c/p\"\nmode = \"read-write\"\n"), "p")
            .unwrap();
        assert_eq!(m.cache.remote.unwrap().mode, RemoteMode::ReadWrite);

        let (line, key, _) = err(&format!("{base}[cache.remote]\nurl = \"ftp://x\"\n"));
        assert_eq!((line, key.as_deref()), (4, Some("url")));
        let (line, key, _) = err(&format!("{base}[cache.remote]\nurl = \"https://u:secret@host/p\"\n"));
        assert_eq!((line, key.as_deref()), (4, Some("url")));
        let (line, _, message) = err(&format!("{base}[cache.remote]\nurl = \"s3://b\"\nmode = \"write\"\n"));
        assert_eq!(line, 5);
        assert!(message.contains("read-write"), "{message}");
        let (line, key, _) = err(&format!("{base}[cache.remote]\nurl = \"s3://b\"\nconnect_timeout_ms = 0\n"));
        assert_eq!((line, key.as_deref()), (5, Some("connect_timeout_ms")));
        let (line, key, _) = err(&format!("{base}[cache]\nmax_size = \"lots\"\n"));
        assert_eq!((line, key.as_deref()), (4, Some("max_size")));
        let (line, key, _) = err(&format!("{base}[cache.remote]\nurl = \"s3://b\"\npassword = \"x\"\n"));
        assert_eq!((line, key.as_deref()), (5, Some("password")));
    }

    #[test]
    fn targets_default_to_desktop_and_are_checked() {
        let base = "[project]\nname = \"x\"\n";
        let m = Manifest::parse(base, "packer.toml").unwrap();
        assert_eq!(m.targets, vec![Target { name: "desktop".into(), profile: Profile::Desktop }]);
        assert_eq!(m.target_output("desktop"), "build/desktop");
        let text = format!(
            "{base}[[build.targets]]\nname = \"pc\"\nprofile = \"desktop\"\n[[build.targets]]\nname = \"phone\"\nprofile = \"mobile\"\n"
        );
        let m = Manifest::parse(&text, "packer.toml").unwrap();
        let names: Vec<_> = m.targets.iter().map(|t| (t.name.as_str(), t.profile)).collect();
        assert_eq!(names, [("pc", Profile::Desktop), ("phone", Profile::Mobile)]);
        assert_eq!(m.target("phone").map(|t| t.profile), Some(Profile::Mobile));

        let (line, key, message) = err(&format!("{base}[[build.targets]]\nname = \"pc\"\nprofile = \"console\"\n"));
        assert_eq!((line, key.as_deref()), (5, None), "{message}");
        assert!(message.contains("desktop") && message.contains("mobile"), "{message}");
        let (line, key, message) = err(&format!(
            "{base}[[build.targets]]\nname = \"pc\"\nprofile = \"desktop\"\n[[build.targets]]\nname = \"pc\"\nprofile = \"mobile\"\n"
        ));
        assert_eq!((line, key.as_deref()), (7, Some("name")), "{message}");
        let (line, _, message) = err(&format!("{base}[[build.targets]]\nname = \"a/b\"\nprofile = \"desktop\"\n"));
        assert_eq!(line, 4, "{message}");
        let (line, key, _) = err(&format!("{base}[[build.targets]]\nname = \"pc\"\n"));
        assert_eq!((line, key.as_deref()), (3, Some("profile")));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("512 MB"), Some(512_000_000));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("10 gib"), Some(10 << 30));
        assert_eq!(parse_size("ten"), None);
        assert_eq!(parse_size("-1 MB"), None);
        assert_eq!(parse_size("5 PB"), None);
    }

    #[test]
    fn excludes_and_roots() {
        let m = Manifest::parse(&Manifest::template("x"), "packer.toml").unwrap();
        assert!(m.is_excluded("assets/a.tmp"));
        assert!(m.is_excluded("assets/sub/.DS_Store"));
        assert!(m.is_excluded("build/main.pack"));
        assert!(!m.is_excluded("assets/a.png"));
        assert!(m.under_roots("assets/a.png"));
        assert!(!m.under_roots("assetsx/a.png"));
        assert!(!m.under_roots("assets"));
    }
}
