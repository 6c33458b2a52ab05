//! Sound: any input the packer takes (WAV, AIFF, FLAC, Ogg Vorbis, MP3)
//! decoded with symphonia ([`decode`]) and its loudness measured
//! ([`loudness`]). Looking at a sound decodes it whole once ([`probe`]): a
//! file that does not decode is an error from the moment the packer looks
//! at it. Its loudness is measured after ([`inspect`], by
//! `project::measure`), off the open: the meter costs twice the decode.

pub mod adpcm;
pub mod cook;
pub mod decode;
pub mod loudness;
pub mod settings;
pub mod wav;

/// Bumped whenever a cooked sound's bytes change for the same input and settings.
pub const VERSION: u32 = 1;

/// The crates whose arithmetic ends up in a cooked sound, for cache keys.
pub const ENCODERS: &str = "symphonia 0.6.1; rubato 5.1.0 scalar sinc 256x256 blackman-harris2; \
    vorbis_rs 0.5.6 aotuv_lancer_vorbis_sys 0.1.6; ima-adpcm 1";

pub use decode::Stream;

/// A hash of what this build of the resampler and the encoders makes of a
/// fixed probe (a chirp resampled, normalized and encoded as Vorbis and as
/// ADPCM): part of every sound's cache key, so that a packer whose
/// libvorbis or C library rounds differently misses the cache instead of
/// serving bytes it would not make. Worked out once per process.
pub fn fingerprint() -> [u8; 32] {
    static PRINT: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| {
        let rate = 44_100u32;
        let samples: Vec<f32> = (0..rate / 2)
            .map(|i| {
                let x = f64::from(i) / f64::from(rate);
                (0.5 * (std::f64::consts::TAU * (200.0 * x + 4000.0 * x * x)).sin()) as f32
            })
            .collect();
        let planes = vec![samples.clone(), samples];
        let mut h = blake3::Hasher::new();
        let never = || false;
        for codec in [settings::Codec::Vorbis, settings::Codec::Adpcm] {
            let s = settings::AudioSettings {
                codec,
                sample_rate: Some(22_050),
                normalize: Some(-20.0),
                ..settings::AudioSettings::default()
            };
            match cook::cook_planes(planes.clone(), rate, &s, 1, &never) {
                Ok(c) => h.update(&c.bytes),
                Err(e) => h.update(format!("{e:?}").as_bytes()),
            };
        }
        *h.finalize().as_bytes()
    })
}
pub use loudness::Loudness;

/// What looking at a sound found: its stream and its loudness.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub stream: Stream,
    pub loudness: Loudness,
}

/// Decodes `bytes` (a file with extension `ext`) whole: what the stream is,
/// or why it does not decode.
pub fn probe(bytes: &[u8], ext: &str) -> Result<Stream, String> {
    decode::decode(bytes, ext, |_, _| {})
}

/// Decodes `bytes` (a file with extension `ext`) whole and measures it.
pub fn inspect(bytes: &[u8], ext: &str) -> Result<Facts, String> {
    let mut meter: Option<Result<loudness::Meter, String>> = None;
    let stream = decode::decode(bytes, ext, |stream, planes| {
        if let Ok(m) = meter.get_or_insert_with(|| loudness::Meter::new(stream.channels, stream.sample_rate)) {
            m.add(planes);
        }
    })?;
    let loudness = match meter {
        Some(Ok(m)) => m.finish(),
        Some(Err(e)) => return Err(e),
        None => Loudness { integrated_lufs: None, true_peak_dbtp: None },
    };
    Ok(Facts { stream, loudness })
}
