//! Cooking a sound for one target: decode -> downmix (`mono`) -> resample
//! (`sample_rate`) -> gain (`normalize`) -> encode (`codec`).
//!
//! Every step is deterministic: symphonia without run-time SIMD choices,
//! rubato's scalar sinc interpolator (its AVX and SSE ones are picked by
//! the CPU and round differently), a gain that is one multiplication, and
//! encoders fed the same samples in the same blocks.

use rubato::sinc_interpolator::{AnyInterpolator, ScalarInterpolator};
use rubato::{calculate_cutoff, Async, FixedAsync, Resampler, SincInterpolationType, WindowFunction};

use super::settings::{AudioSettings, Codec};
use super::{adpcm, decode, loudness, wav};

/// Most samples (all channels) a sound may decode to: 1 GiB of `f32`, about
/// 46 minutes of 48 kHz stereo. A longer sound is refused, not cooked slowly.
pub const MAX_SAMPLES: u64 = 1 << 28;

/// The true peak `normalize` keeps under, in dBTP (EBU R128's ceiling).
pub const PEAK_CEILING: f64 = -1.0;

/// A cooked sound.
#[derive(Debug, Clone, PartialEq)]
pub struct Cooked {
    /// The file a game loads: Ogg Vorbis, or WAV with IMA ADPCM or PCM.
    pub bytes: Vec<u8>,
    pub codec: Codec,
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: u64,
    /// The gain `normalize` applied, in dB (0 without it).
    pub gain_db: f64,
    /// What the user should know: a normalize held back by the peak ceiling, a sound too short to measure.
    pub warnings: Vec<String>,
}

/// Why a cook produced nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum CookError {
    Cancelled,
    /// `audioUnreadable` (the source) or `audioEncode` (the encoder refused).
    Invalid {
        code: &'static str,
        message: String,
    },
}

fn unreadable(message: String) -> CookError {
    CookError::Invalid { code: "audioUnreadable", message }
}

/// Cooks `bytes` (a file with extension `ext`); `serial` is the Ogg stream
/// serial (the caller derives it from the content, so it is the same on
/// every machine).
pub fn cook(
    bytes: &[u8],
    ext: &str,
    settings: &AudioSettings,
    serial: i32,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Cooked, CookError> {
    let (stream, planes) = decode_all(bytes, ext)?;
    if cancel() {
        return Err(CookError::Cancelled);
    }
    cook_planes(planes, stream.sample_rate, settings, serial, cancel)
}

/// Cooks a decoded sound (planar, at `source_rate`).
pub fn cook_planes(
    planes: Vec<Vec<f32>>,
    source_rate: u32,
    settings: &AudioSettings,
    serial: i32,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Cooked, CookError> {
    let planes = if settings.mono && planes.len() > 1 { vec![downmix(&planes)] } else { planes };
    let rate = settings.sample_rate.unwrap_or(source_rate);
    // Resampling up makes more samples: the same bound holds for them.
    let frames_out = planes.first().map_or(0, Vec::len) as u64 * u64::from(rate) / u64::from(source_rate.max(1));
    if frames_out * planes.len() as u64 > MAX_SAMPLES {
        return Err(unreadable(format!(
            "the sound is too long to cook: resampled to {rate} Hz it would be over {MAX_SAMPLES} samples"
        )));
    }
    let mut planes = if rate != source_rate { resample(&planes, source_rate, rate)? } else { planes };
    if cancel() {
        return Err(CookError::Cancelled);
    }
    let mut warnings = Vec::new();
    let mut gain_db = match settings.normalize {
        Some(target) => normalize_gain(&planes, rate, target, &mut warnings)?,
        None => 0.0,
    };
    let frames = planes.first().map_or(0, Vec::len) as u64;
    let channels = planes.len() as u16;
    let encode = |planes: &[Vec<f32>], gain_db: f64| -> Result<Vec<u8>, CookError> {
        let gain = 10f64.powf(gain_db / 20.0) as f32;
        let gained: Vec<Vec<f32>>;
        let planes = if gain_db == 0.0 {
            planes
        } else {
            gained = planes.iter().map(|p| p.iter().map(|s| s * gain).collect()).collect();
            &gained
        };
        match settings.codec {
            Codec::Pcm => Ok(wav::pcm16(planes, rate)),
            Codec::Adpcm => Ok(adpcm::encode_wav(planes, rate)),
            Codec::Vorbis => vorbis(planes, rate, settings.quality, serial, cancel),
        }
    };
    let mut out = encode(&planes, gain_db)?;
    // A lossy encoder's output may peak above what it was given: measured on
    // what ships, and the gain lowered once by the overshoot if need be.
    if settings.normalize.is_some() && settings.codec == Codec::Vorbis {
        let peak = measure(&out, "ogg")?.true_peak_dbtp.unwrap_or(f64::NEG_INFINITY);
        if peak > PEAK_CEILING {
            gain_db -= peak - PEAK_CEILING + 0.05;
            out = encode(&planes, gain_db)?;
        }
    }
    planes.clear();
    Ok(Cooked { bytes: out, codec: settings.codec, sample_rate: rate, channels, frames, gain_db, warnings })
}

/// The whole sound, planar.
fn decode_all(bytes: &[u8], ext: &str) -> Result<(decode::Stream, Vec<Vec<f32>>), CookError> {
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut too_long = false;
    let stream = decode::decode(bytes, ext, |stream, block| {
        if too_long {
            return;
        }
        if planes.is_empty() {
            planes = vec![Vec::new(); block.len()];
        }
        let held = planes[0].len() as u64 * u64::from(stream.channels);
        if held + (block[0].len() * block.len()) as u64 > MAX_SAMPLES {
            too_long = true;
            return;
        }
        for (p, b) in planes.iter_mut().zip(block) {
            p.extend_from_slice(b);
        }
    })
    .map_err(unreadable)?;
    if too_long {
        return Err(unreadable(format!(
            "the sound is too long to cook: over {MAX_SAMPLES} samples decoded ({} channels at {} Hz)",
            stream.channels, stream.sample_rate
        )));
    }
    if planes.is_empty() {
        planes = vec![Vec::new(); usize::from(stream.channels)];
    }
    Ok((stream, planes))
}

/// One channel: the mean of the channels, the LFE (the fourth of six or
/// eight, as WAV orders them) left out.
pub fn downmix(planes: &[Vec<f32>]) -> Vec<f32> {
    let used: Vec<&Vec<f32>> =
        planes.iter().enumerate().filter(|(i, _)| !(planes.len() >= 6 && *i == 3)).map(|(_, p)| p).collect();
    let scale = 1.0 / used.len() as f32;
    (0..planes[0].len()).map(|i| used.iter().map(|p| p[i]).sum::<f32>() * scale).collect()
}

/// Sinc resampling (256 taps, Blackman-Harris, linear between 256
/// oversampled sincs) through rubato's scalar interpolator.
pub fn resample(planes: &[Vec<f32>], from: u32, to: u32) -> Result<Vec<Vec<f32>>, CookError> {
    use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
    let failed = |e: &dyn std::fmt::Display| CookError::Invalid {
        code: "audioEncode",
        message: format!("resampling from {from} to {to} Hz failed: {e}"),
    };
    let ratio = f64::from(to) / f64::from(from);
    let (sinc_len, oversampling, window) = (256, 256, WindowFunction::BlackmanHarris2);
    let cutoff = calculate_cutoff::<f32>(sinc_len, window) * if ratio < 1.0 { ratio as f32 } else { 1.0 };
    let interpolator = AnyInterpolator::Scalar(ScalarInterpolator::new(sinc_len, oversampling, cutoff, window));
    let channels = planes.len();
    let frames = planes.first().map_or(0, Vec::len);
    let mut resampler = Async::<f32>::new_with_sinc_interpolator(
        ratio,
        1.0,
        SincInterpolationType::Linear,
        interpolator,
        cutoff,
        1024,
        channels,
        FixedAsync::Input,
    )
    .map_err(|e| failed(&e))?;
    let out_len = resampler.process_all_needed_output_len(frames);
    let mut out = vec![vec![0.0f32; out_len]; channels];
    let input = SequentialSliceOfVecs::new(planes, channels, frames).map_err(|e| failed(&e))?;
    let mut output = SequentialSliceOfVecs::new_mut(&mut out, channels, out_len).map_err(|e| failed(&e))?;
    let (_, written) = resampler.process_all_into_buffer(&input, &mut output, frames, None).map_err(|e| failed(&e))?;
    for p in &mut out {
        p.truncate(written);
    }
    Ok(out)
}

/// The gain that brings `planes` to `target` LUFS, held so that the true
/// peak stays under [`PEAK_CEILING`].
fn normalize_gain(planes: &[Vec<f32>], rate: u32, target: f64, warnings: &mut Vec<String>) -> Result<f64, CookError> {
    let slices: Vec<&[f32]> = planes.iter().map(Vec::as_slice).collect();
    let mut meter = loudness::Meter::new(planes.len() as u16, rate).map_err(unreadable)?;
    meter.add(&slices);
    let measured = meter.finish();
    let Some(lufs) = measured.integrated_lufs else {
        warnings.push(format!(
            "normalize: the sound has no integrated loudness (shorter than 400 ms, or silent); it is not normalized to {target} LUFS"
        ));
        return Ok(0.0);
    };
    let mut gain = target - lufs;
    if let Some(peak) = measured.true_peak_dbtp {
        if peak + gain > PEAK_CEILING {
            gain = PEAK_CEILING - peak;
            warnings.push(format!(
                "normalize: the gain is held at {gain:+.2} dB so that the true peak stays under {PEAK_CEILING} dBTP; the sound reads {:.2} LUFS, not {target}",
                lufs + gain
            ));
        }
    }
    Ok(gain)
}

fn vorbis(
    planes: &[Vec<f32>],
    rate: u32,
    quality: f64,
    serial: i32,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<u8>, CookError> {
    use std::num::{NonZeroU32, NonZeroU8};
    use vorbis_rs::{VorbisBitrateManagementStrategy, VorbisEncoderBuilder};
    let failed = |e: vorbis_rs::VorbisError| CookError::Invalid {
        code: "audioEncode",
        message: format!("the Vorbis encoder refused the sound ({} channels at {rate} Hz): {e}", planes.len()),
    };
    let (Some(r), Some(c)) = (NonZeroU32::new(rate), NonZeroU8::new(planes.len() as u8)) else {
        return Err(CookError::Invalid { code: "audioEncode", message: "a sound with no channels".into() });
    };
    let mut encoder = VorbisEncoderBuilder::new_with_serial(r, c, Vec::new(), serial)
        .bitrate_management_strategy(VorbisBitrateManagementStrategy::QualityVbr { target_quality: quality as f32 })
        .build()
        .map_err(failed)?;
    let frames = planes.first().map_or(0, Vec::len);
    // Vorbis orders channels its own way (centre second, LFE last); the
    // decoders give WAV's order.
    let order = vorbis_order(planes.len());
    const BLOCK: usize = 4096;
    for start in (0..frames).step_by(BLOCK) {
        if cancel() {
            return Err(CookError::Cancelled);
        }
        let end = (start + BLOCK).min(frames);
        let block: Vec<&[f32]> = order.iter().map(|&c| &planes[c][start..end]).collect();
        encoder.encode_audio_block(&block).map_err(failed)?;
    }
    encoder.finish().map_err(failed)
}

/// For each Vorbis channel (Vorbis I spec, 4.3.9), the WAV channel it is:
/// 3 is L C R; 5 is FL C FR RL RR; 5.1 adds the LFE last; 6.1 is FL C FR
/// SL SR RC LFE; 7.1 is FL C FR SL SR RL RR LFE. WAV puts the centre third,
/// the LFE fourth, and (7.1) the rear pair before the side pair.
fn vorbis_order(channels: usize) -> Vec<usize> {
    match channels {
        3 => vec![0, 2, 1],
        5 => vec![0, 2, 1, 3, 4],
        6 => vec![0, 2, 1, 4, 5, 3],
        7 => vec![0, 2, 1, 5, 6, 4, 3],
        8 => vec![0, 2, 1, 6, 7, 4, 5, 3],
        n => (0..n).collect(),
    }
}

/// Loudness of an encoded file, for the check after a lossy encode.
fn measure(bytes: &[u8], ext: &str) -> Result<loudness::Loudness, CookError> {
    super::inspect(bytes, ext).map(|f| f.loudness).map_err(|e| CookError::Invalid {
        code: "audioEncode",
        message: format!("the encoded sound does not decode: {e}"),
    })
}
