//! Processors: what building does to each kind of asset. Each has a name
//! and a version; changing what a processor outputs means a new version,
//! which invalidates exactly its cache entries.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::pack::{Format, Image};
use super::texture;
use crate::project::format::manifest::Target;
use crate::project::model::references::{self, Syntax};
use crate::project::model::Kind;

/// A processor's identity, part of every cache key.
pub fn processor(kind: Kind) -> (&'static str, u32) {
    match kind {
        // Version 2: a GPU texture (KTX2) per target profile.
        Kind::Image => ("texture", 2),
        // Version 2: cooked per target (codec, rate, mono, normalize).
        Kind::Audio => ("audio", 2),
        Kind::Data => ("data", 1),
        Kind::Text => ("text", 1),
        Kind::Font | Kind::Binary | Kind::Model => ("copy", 1),
    }
}

/// What processing gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub image: Image,
    /// Level 0's PSNR against the source in hundredths of a dB (0: none).
    pub psnr_cdb: u32,
    /// What the user should know of this result (a texture downscaled to its
    /// `max_size`, alpha a format cannot keep).
    pub warnings: Vec<String>,
}

impl Processed {
    fn bytes(bytes: Vec<u8>) -> Processed {
        Processed { bytes, format: Format::Bytes, image: Image::default(), psnr_cdb: 0, warnings: Vec::new() }
    }
}

/// Why processing gave nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The build was cancelled in the middle of it.
    Cancelled,
    /// The content (or a setting) is refused: a code and a message for a diagnostic.
    Refused { code: String, message: String },
}

fn refused(code: &str, message: String) -> Failure {
    Failure::Refused { code: code.to_string(), message }
}

/// What an asset is processed for: the target (a texture is cooked for its
/// profile) and when to give up.
pub struct For<'a> {
    pub target: &'a Target,
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
}

/// What a data asset's references by path resolve to, `(path, id)` sorted
/// by path: its processed bytes name each by id, so that a move changes no
/// pack byte. Part of its cache key ([`super::cache::key`]).
pub type Links = [(Arc<str>, Arc<str>)];

/// Processes one asset's bytes, with its settings as the build resolved them
/// for this target (see [`super::settings`]) and its links.
pub fn process(
    kind: Kind,
    path: &str,
    bytes: &[u8],
    settings: &Map<String, Value>,
    links: &Links,
    on: &For<'_>,
) -> Result<Processed, Failure> {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match kind {
        Kind::Image => texture(bytes, &ext, settings, on),
        Kind::Data => data(bytes, &ext, path, links).map_err(|(code, message)| refused(&code, message)),
        Kind::Text => match std::str::from_utf8(bytes) {
            Ok(_) => Ok(Processed::bytes(bytes.to_vec())),
            Err(e) => Err(refused("invalidUtf8", format!("text is not valid UTF-8 at byte {}", e.valid_up_to()))),
        },
        Kind::Audio => audio(bytes, &ext, settings, on),
        Kind::Font | Kind::Binary | Kind::Model => Ok(Processed::bytes(bytes.to_vec())),
    }
}

/// An image cooked into a GPU texture for the target's profile.
fn texture(bytes: &[u8], ext: &str, settings: &Map<String, Value>, on: &For<'_>) -> Result<Processed, Failure> {
    let settings = texture::from_settings(settings).map_err(|errors| {
        let what: Vec<String> = errors.iter().map(|e| format!("setting `{}`: {}", e.key, e.message)).collect();
        refused("invalidSetting", what.join("; "))
    })?;
    let profile = on.target.profile;
    match texture::cook(bytes, ext, &settings, profile, &on.target.name, on.cancelled) {
        Ok(cooked) => Ok(Processed {
            image: Image {
                width: cooked.width,
                height: cooked.height,
                vk_format: cooked.vk_format,
                levels: cooked.levels,
            },
            // Hundredths of a dB: what the cache keeps (at most 100 dB).
            psnr_cdb: cooked.psnr.map_or(0, |db| (db.clamp(0.0, 100.0) * 100.0).round() as u32),
            warnings: cooked.warnings,
            bytes: cooked.ktx2,
            format: Format::Ktx2,
        }),
        Err(texture::CookError::Cancelled) => Err(Failure::Cancelled),
        Err(texture::CookError::Invalid { code, message }) => Err(refused(code, message)),
    }
}

/// Whether an image's content can be cooked, without cooking it (for
/// `studio-packer check`): it decodes, or, for a KTX2 or DDS source, its
/// header and levels are whole.
pub fn check_image(bytes: &[u8], path: &str) -> Result<(), Failure> {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let result = match ext.as_str() {
        "ktx2" => texture::ktx::read_ktx2(bytes).map(drop),
        "dds" => texture::ktx::read_dds(bytes, true).map(drop),
        _ => match image::ImageFormat::from_extension(&ext) {
            Some(f) => image::load_from_memory_with_format(bytes, f),
            None => image::load_from_memory(bytes),
        }
        .map(drop)
        .map_err(|e| format!("cannot decode the {ext} image: {e}")),
    };
    let code = if matches!(ext.as_str(), "ktx2" | "dds") { "textureInvalid" } else { "imageUnreadable" };
    result.map_err(|message| refused(code, message))
}

/// A data asset's bytes with every reference by path written as a
/// reference by id (`links` says which). The game resolves ids.
fn by_id(bytes: &[u8], syntax: Syntax, path: &str, links: &Links) -> Result<Vec<u8>, (String, String)> {
    let code = if syntax == Syntax::Toml { "invalidToml" } else { "invalidJson" };
    if links.is_empty() {
        return Ok(bytes.to_vec());
    }
    let id_of = |p: &str| links.binary_search_by(|(l, _)| (**l).cmp(p)).ok().map(|i| links[i].1.clone());
    let rewritten = references::rewrite(bytes, syntax, path, path, |r| match &r.target {
        references::Target::Path(p) => id_of(p).map(references::Target::Id),
        references::Target::Id(_) => None,
    });
    rewritten.map(|(bytes, _)| bytes).map_err(|e| (code.to_string(), e))
}

fn data(bytes: &[u8], ext: &str, path: &str, links: &Links) -> Result<Processed, (String, String)> {
    match ext {
        "json" => {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| {
                ("invalidJson".to_string(), format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()))
            })?;
            Ok(Processed::bytes(minify_json(&by_id(bytes, Syntax::Json, path, links)?)))
        }
        "toml" => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| ("invalidToml".to_string(), format!("not valid UTF-8 at byte {}", e.valid_up_to())))?;
            toml::from_str::<toml::Table>(text).map_err(|e| {
                (
                    "invalidToml".to_string(),
                    format!("invalid TOML: {}", crate::project::disk::workspace::toml_error(text, &e)),
                )
            })?;
            Ok(Processed::bytes(by_id(bytes, Syntax::Toml, path, links)?))
        }
        _ => Ok(Processed::bytes(bytes.to_vec())),
    }
}

/// Removes the whitespace between JSON tokens, keeping everything else (key
/// order, number spelling) exactly as written. The input is valid JSON.
pub fn minify_json(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(b);
        }
    }
    out
}

/// A sound cooked for the target: Ogg Vorbis, or WAV with IMA ADPCM or PCM.
fn audio(bytes: &[u8], ext: &str, settings: &Map<String, Value>, on: &For<'_>) -> Result<Processed, Failure> {
    let settings = super::audio::settings::from_settings(settings).map_err(|errors| {
        let what: Vec<String> = errors.iter().map(|e| format!("setting `{}`: {}", e.key, e.message)).collect();
        refused("invalidSetting", what.join("; "))
    })?;
    // The Ogg stream serial, from the content: the same on every machine.
    let hash = blake3::hash(bytes);
    let serial = i32::from_le_bytes(hash.as_bytes()[..4].try_into().expect("four bytes"));
    match super::audio::cook::cook(bytes, ext, &settings, serial, on.cancelled) {
        Ok(cooked) => Ok(Processed { warnings: cooked.warnings, ..Processed::bytes(cooked.bytes) }),
        Err(super::audio::cook::CookError::Cancelled) => Err(Failure::Cancelled),
        Err(super::audio::cook::CookError::Invalid { code, message }) => Err(refused(code, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_names_its_references_by_id_once_processed() {
        let target = Target { name: "desktop".into(), profile: crate::project::format::manifest::Profile::Desktop };
        let on = For { target: &target, cancelled: &|| false };
        let links: Vec<(Arc<str>, Arc<str>)> =
            vec![("assets/a.wav".into(), "id-a".into()), ("b.json".into(), "id-b".into())];
        let json = b"{ \"s\": \"asset:assets/a.wav\", \"t\": [\"asset:/b.json\", \"asset:id-c\", \"asset:x/none\"] }";
        let out = process(Kind::Data, "l.json", json, &Map::new(), &links, &on).unwrap();
        assert_eq!(out.bytes, br#"{"s":"asset:id-a","t":["asset:id-b","asset:id-c","asset:x/none"]}"#.to_vec());
        let toml = b"s = 'asset:assets/a.wav' # the jump\n";
        let out = process(Kind::Data, "l.toml", toml, &Map::new(), &links, &on).unwrap();
        assert_eq!(out.bytes, b"s = \"asset:id-a\" # the jump\n".to_vec());
        // No links: the bytes as before (minified JSON, TOML as it is).
        let out = process(Kind::Data, "l.toml", toml, &Map::new(), &[], &on).unwrap();
        assert_eq!(out.bytes, toml.to_vec());
    }

    #[test]
    fn json_is_minified_keeping_strings_and_order() {
        let src = br#"{ "b" : [1, 2],
  "a": "x y \" z", "c": {} }"#;
        assert_eq!(minify_json(src), br#"{"b":[1,2],"a":"x y \" z","c":{}}"#.to_vec());
    }

    #[test]
    fn bad_inputs_are_errors_with_codes() {
        let target = Target { name: "desktop".into(), profile: crate::project::format::manifest::Profile::Desktop };
        let on = For { target: &target, cancelled: &|| false };
        let code = |kind, path: &str, bytes: &[u8], settings: &Map<String, Value>| match process(
            kind,
            path,
            bytes,
            settings,
            &[],
            &on,
        )
        .unwrap_err()
        {
            Failure::Refused { code, .. } => code,
            Failure::Cancelled => "cancelled".into(),
        };
        let m = Map::new();
        assert_eq!(code(Kind::Image, "a.png", b"\x89PNG\r\n\x1a\nxx", &m), "imageUnreadable");
        assert_eq!(code(Kind::Data, "a.json", b"{", &m), "invalidJson");
        assert_eq!(code(Kind::Data, "a.toml", b"a = ", &m), "invalidToml");
        assert_eq!(code(Kind::Text, "a.txt", b"\xff", &m), "invalidUtf8");
        assert_eq!(code(Kind::Audio, "a.wav", b"RIFF", &m), "audioUnreadable");
        let mut s = Map::new();
        s.insert("codec".into(), Value::from("aac"));
        assert_eq!(code(Kind::Audio, "a.wav", b"RIFF", &s), "invalidSetting");
        let mut s = Map::new();
        s.insert("format".into(), Value::from("jpeg"));
        assert_eq!(code(Kind::Image, "a.png", b"", &s), "invalidSetting");
        assert_eq!(check_image(b"\x89PNG\r\n\x1a\nxx", "a.png").map_err(|_| ()), Err(()));
        assert_eq!(check_image(b"not a texture", "a.ktx2").map_err(|_| ()), Err(()));
    }
}
