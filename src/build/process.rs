//! Processors: what building does to each kind of asset. Each has a name
//! and a version; changing what a processor outputs means a new version,
//! which invalidates exactly its cache entries.

use serde_json::{Map, Value};

use super::pack::Format;
use crate::project::model::Kind;

/// A processor's identity, part of every cache key.
pub fn processor(kind: Kind) -> (&'static str, u32) {
    match kind {
        Kind::Image => ("image", 1),
        Kind::Audio => ("audio", 1),
        Kind::Data => ("data", 1),
        Kind::Text => ("text", 1),
        Kind::Font | Kind::Binary => ("copy", 1),
    }
}

/// What processing gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

impl Processed {
    fn bytes(bytes: Vec<u8>) -> Processed {
        Processed { bytes, format: Format::Bytes, width: 0, height: 0 }
    }
}

/// Processes one asset's bytes. An error is a message for a diagnostic.
pub fn process(
    kind: Kind,
    path: &str,
    bytes: &[u8],
    settings: &Map<String, Value>,
) -> Result<Processed, (String, String)> {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match kind {
        Kind::Image => image(bytes, &ext, settings),
        Kind::Data => data(bytes, &ext),
        Kind::Text => match std::str::from_utf8(bytes) {
            Ok(_) => Ok(Processed::bytes(bytes.to_vec())),
            Err(e) => Err(("invalidUtf8".into(), format!("text is not valid UTF-8 at byte {}", e.valid_up_to()))),
        },
        Kind::Audio => audio(bytes, &ext),
        Kind::Font | Kind::Binary => Ok(Processed::bytes(bytes.to_vec())),
    }
}

fn image(bytes: &[u8], ext: &str, settings: &Map<String, Value>) -> Result<Processed, (String, String)> {
    let wanted = match settings.get("format") {
        None => "png",
        Some(Value::String(s)) if s == "png" || s == "rgba8" => s.as_str(),
        Some(other) => {
            return Err((
                "invalidSetting".into(),
                format!("setting `format` must be \"png\" or \"rgba8\", not {other}"),
            ))
        }
    };
    let decoded = image::load_from_memory(bytes)
        .map_err(|e| ("imageUnreadable".to_string(), format!("the image cannot be decoded: {e}")))?;
    let (width, height) = (decoded.width(), decoded.height());
    match wanted {
        "rgba8" => Ok(Processed { bytes: decoded.to_rgba8().into_raw(), format: Format::Rgba8, width, height }),
        _ if ext == "png" && image::guess_format(bytes).ok() == Some(image::ImageFormat::Png) => {
            // Decoded to prove it is whole; stored as it was (no re-encoding).
            Ok(Processed { bytes: bytes.to_vec(), format: Format::Png, width, height })
        }
        _ => {
            let mut out = std::io::Cursor::new(Vec::new());
            decoded
                .to_rgba8()
                .write_to(&mut out, image::ImageFormat::Png)
                .map_err(|e| ("imageUnreadable".to_string(), format!("the image cannot be encoded as PNG: {e}")))?;
            Ok(Processed { bytes: out.into_inner(), format: Format::Png, width, height })
        }
    }
}

fn data(bytes: &[u8], ext: &str) -> Result<Processed, (String, String)> {
    match ext {
        "json" => {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| {
                ("invalidJson".to_string(), format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()))
            })?;
            Ok(Processed::bytes(minify_json(bytes)))
        }
        "toml" => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| ("invalidToml".to_string(), format!("not valid UTF-8 at byte {}", e.valid_up_to())))?;
            toml::from_str::<toml::Table>(text).map_err(|e| {
                ("invalidToml".to_string(), format!("invalid TOML: {}", e.to_string().trim().replace('\n', " ")))
            })?;
            Ok(Processed::bytes(bytes.to_vec()))
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

fn audio(bytes: &[u8], ext: &str) -> Result<Processed, (String, String)> {
    let bad = |why: String| ("audioUnreadable".to_string(), why);
    match ext {
        "wav" => {
            let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
                .map_err(|e| bad(format!("the WAV header cannot be read: {e}")))?;
            let spec = reader.spec();
            let expected = u64::from(reader.len()) * u64::from(spec.bits_per_sample.div_ceil(8));
            if expected > bytes.len() as u64 {
                return Err(bad(format!(
                    "the WAV data is cut short ({} bytes, the header announces {expected})",
                    bytes.len()
                )));
            }
            Ok(Processed::bytes(bytes.to_vec()))
        }
        "ogg" | "oga" | "opus" if !bytes.starts_with(b"OggS") => {
            Err(bad("the file does not start like an Ogg file".into()))
        }
        "flac" if !bytes.starts_with(b"fLaC") => Err(bad("the file does not start like a FLAC file".into())),
        _ => Ok(Processed::bytes(bytes.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_minified_keeping_strings_and_order() {
        let src = br#"{ "b" : [1, 2],
  "a": "x y \" z", "c": {} }"#;
        assert_eq!(minify_json(src), br#"{"b":[1,2],"a":"x y \" z","c":{}}"#.to_vec());
    }

    #[test]
    fn bad_inputs_are_errors_with_codes() {
        let m = Map::new();
        assert_eq!(process(Kind::Image, "a.png", b"\x89PNG\r\n\x1a\nxx", &m).unwrap_err().0, "imageUnreadable");
        assert_eq!(process(Kind::Data, "a.json", b"{", &m).unwrap_err().0, "invalidJson");
        assert_eq!(process(Kind::Data, "a.toml", b"a = ", &m).unwrap_err().0, "invalidToml");
        assert_eq!(process(Kind::Text, "a.txt", b"\xff", &m).unwrap_err().0, "invalidUtf8");
        assert_eq!(process(Kind::Audio, "a.wav", b"RIFF", &m).unwrap_err().0, "audioUnreadable");
        let mut s = Map::new();
        s.insert("format".into(), Value::from("jpeg"));
        assert_eq!(process(Kind::Image, "a.png", b"", &s).unwrap_err().0, "invalidSetting");
    }
}
