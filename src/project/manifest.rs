//! `packer.toml`, the manifest people write.
//!
//! Parsing is strict: an unknown key or a wrong type is an error that names
//! the file, the line and the key, because a silently ignored typo in a
//! manifest (`exclud = [...]`) would change what the packer registers.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::paths;

pub const MANIFEST_FILE: &str = "packer.toml";

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
}

impl Default for RawAssets {
    fn default() -> Self {
        RawAssets { roots: default_roots(), exclude: Vec::new() }
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
    include: Vec<String>,
}

impl Default for RawBuild {
    fn default() -> Self {
        RawBuild { output: default_output(), packs: Vec::new(), zstd_level: default_level() }
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
    /// The pack nobody declared: it holds every asset.
    everything: bool,
}

impl PackDef {
    pub fn includes(&self, path: &str) -> bool {
        self.everything || self.set.is_match(path)
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
    /// Build output folder, a normalised relative path.
    pub output: String,
    /// The packs to build; one pack `main` with every asset when none is declared.
    pub packs: Vec<PackDef>,
    /// zstd level for pack entries (1 to 19).
    pub zstd_level: i32,
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
            let key = message.split('`').nth(1).map(str::to_string);
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
            let valid = !p.name.is_empty()
                && p.name.len() <= 64
                && p.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(invalid(
                    "name",
                    format!("pack name `{}` must be 1 to 64 letters, digits, `-` or `_`", p.name),
                ));
            }
            if packs.iter().any(|d: &PackDef| d.name == p.name) {
                return Err(invalid("name", format!("two packs are named `{}`", p.name)));
            }
            let mut builder = GlobSetBuilder::new();
            for pattern in &p.include {
                let glob = Glob::new(pattern).map_err(|e| {
                    invalid("include", format!("pack `{}`: include pattern `{pattern}`: {}", p.name, e.kind()))
                })?;
                builder.add(glob);
            }
            let set = builder.build().map_err(|e| invalid("include", format!("pack `{}`: {e}", p.name)))?;
            packs.push(PackDef { name: p.name.clone(), include: p.include.clone(), set, everything: false });
        }
        if packs.is_empty() {
            let set = GlobSetBuilder::new().build().expect("an empty glob set builds");
            packs.push(PackDef { name: "main".into(), include: vec!["**".into()], set, everything: true });
        }
        if !(1..=19).contains(&raw.build.zstd_level) {
            return Err(invalid(
                "zstd_level",
                format!("`build.zstd_level` must be 1 to 19, not {}", raw.build.zstd_level),
            ));
        }
        Ok(Manifest {
            name: raw.project.name,
            roots,
            exclude: raw.assets.exclude,
            exclude_set,
            output,
            packs,
            zstd_level: raw.build.zstd_level,
        })
    }

    /// Whether a relative path is excluded from the workspace: by a pattern,
    /// or because it lies in the build output.
    pub fn is_excluded(&self, rel: &str) -> bool {
        if rel == self.output || rel.starts_with(&format!("{}/", self.output)) {
            return true;
        }
        self.exclude_set.is_match(rel) || rel.rsplit('/').next().is_some_and(|name| self.exclude_set.is_match(name))
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
    fn bad_glob_and_bad_root() {
        let (line, key, _) = err("[project]\nname = \"x\"\n[assets]\nexclude = [\"a[\"]\n");
        assert_eq!((line, key.as_deref()), (4, Some("exclude")));
        let (line, key, _) = err("[project]\nname = \"x\"\n[assets]\nroots = [\"../up\"]\n");
        assert_eq!((line, key.as_deref()), (4, Some("roots")));
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
