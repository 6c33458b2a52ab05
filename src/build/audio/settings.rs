//! A sound's settings (its `settings` keys, after `build::settings` has
//! resolved rules, the asset's own and its target's overrides).

use serde_json::{Map, Value};

use crate::build::texture::SettingError;

/// How a sound is stored in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Ogg Vorbis, variable bit rate at `quality`: music, long sounds.
    Vorbis,
    /// IMA ADPCM in a WAV file, 4 bits a sample: short effects, cheap to decode.
    Adpcm,
    /// 16-bit PCM in a WAV file.
    Pcm,
}

impl Codec {
    pub const ALL: &'static [Codec] = &[Codec::Vorbis, Codec::Adpcm, Codec::Pcm];

    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Vorbis => "vorbis",
            Codec::Adpcm => "adpcm",
            Codec::Pcm => "pcm",
        }
    }
}

/// A sound's settings, as a build cooks it for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSettings {
    pub codec: Codec,
    /// Vorbis quality, 0.0 to 1.0 (libvorbis' `-q 0` to `-q 10`).
    pub quality: f64,
    /// The rate to resample to; `None` keeps the source's.
    pub sample_rate: Option<u32>,
    /// Downmix to one channel (the mean of the channels, an LFE left out).
    pub mono: bool,
    /// Integrated loudness to bring the sound to, in LUFS.
    pub normalize: Option<f64>,
}

impl Default for AudioSettings {
    fn default() -> Self {
        AudioSettings {
            codec: Codec::Vorbis,
            quality: DEFAULT_QUALITY,
            sample_rate: None,
            mono: false,
            normalize: None,
        }
    }
}

/// libvorbis' `-q 4`: about 128 kb/s for stereo at 44.1 kHz.
pub const DEFAULT_QUALITY: f64 = 0.4;

/// The keys a sound reads (`targets` is resolved before [`from_settings`]).
pub const SETTING_KEYS: &[&str] = &["codec", "quality", "sample_rate", "mono", "normalize", "targets"];

/// The rates `sample_rate` may name.
pub const RATES: std::ops::RangeInclusive<u64> = 8_000..=192_000;

/// The loudness targets `normalize` may name, in LUFS.
pub const LOUDNESS: std::ops::RangeInclusive<f64> = -60.0..=-5.0;

/// The defaults, as the values `packer/getAsset` shows.
pub fn defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("codec", Value::from("vorbis")),
        ("quality", Value::from(DEFAULT_QUALITY)),
        ("sample_rate", Value::from("keep")),
        ("mono", Value::Bool(false)),
        ("normalize", Value::Null),
    ]
}

/// Reads a sound's settings; every problem is reported, not just the
/// first. `targets` is not read here (the build resolves it per target).
pub fn from_settings(map: &Map<String, Value>) -> Result<AudioSettings, Vec<SettingError>> {
    let mut errors = Vec::new();
    let mut s = AudioSettings::default();
    for (key, value) in map {
        if let Err(message) = read(&mut s, key, value) {
            errors.push(SettingError { key: key.clone(), message });
        }
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

/// Reads one key into `s`.
pub fn read(s: &mut AudioSettings, key: &str, value: &Value) -> Result<(), String> {
    match key {
        "codec" => {
            let names: Vec<&str> = Codec::ALL.iter().map(|c| c.as_str()).collect();
            s.codec = value
                .as_str()
                .and_then(|v| Codec::ALL.iter().copied().find(|c| c.as_str() == v))
                .ok_or_else(|| format!("`{value}` is not a codec; allowed: {}", names.join(", ")))?;
        }
        "quality" => match value.as_f64() {
            Some(q) if (0.0..=1.0).contains(&q) => s.quality = q,
            _ => return Err(format!("a sound's quality is a number from 0.0 to 1.0 (Vorbis), not {value}")),
        },
        "sample_rate" => match value {
            Value::String(k) if k == "keep" => s.sample_rate = None,
            v => match v.as_u64() {
                Some(r) if RATES.contains(&r) => s.sample_rate = Some(r as u32),
                _ => {
                    return Err(format!(
                        "\"keep\" or a rate from {} to {} Hz is needed, not {v}",
                        RATES.start(),
                        RATES.end()
                    ))
                }
            },
        },
        "mono" => s.mono = value.as_bool().ok_or("true or false is needed")?,
        "normalize" => match value {
            Value::Null | Value::Bool(false) => s.normalize = None,
            v => match v.as_f64() {
                Some(l) if LOUDNESS.contains(&l) => s.normalize = Some(l),
                _ => {
                    return Err(format!(
                        "a loudness in LUFS from {} to {} (or false) is needed, not {v}",
                        LOUDNESS.start(),
                        LOUDNESS.end()
                    ))
                }
            },
        },
        "targets" => {}
        _ => return Err(format!("unknown sound setting; allowed: {}", SETTING_KEYS.join(", "))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_key_is_read_and_every_problem_named() {
        let m = json!({"codec": "adpcm", "quality": 0.2, "sample_rate": 22050, "mono": true, "normalize": -16});
        let s = from_settings(m.as_object().unwrap()).unwrap();
        assert_eq!(
            s,
            AudioSettings {
                codec: Codec::Adpcm,
                quality: 0.2,
                sample_rate: Some(22050),
                mono: true,
                normalize: Some(-16.0)
            }
        );
        let keep = json!({"sample_rate": "keep", "normalize": null});
        assert_eq!(from_settings(keep.as_object().unwrap()).unwrap(), AudioSettings::default());
        let bad = json!({"codec": "mp3", "quality": "high", "sample_rate": 4000, "mono": 1, "normalize": 3, "gain": 2});
        let errors = from_settings(bad.as_object().unwrap()).unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["codec", "gain", "mono", "normalize", "quality", "sample_rate"]);
        assert!(errors[0].message.contains("vorbis, adpcm, pcm"), "{}", errors[0].message);
    }
}
