//! Decoding any input the packer takes (WAV, AIFF, FLAC, Ogg Vorbis, MP3)
//! with symphonia, block by block, so that measuring a sound never holds
//! all of it in memory.

use std::io::Cursor;

use symphonia::core::codecs::audio::{well_known::*, AudioCodecId, AudioDecoderOptions};
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

/// Most channels a sound may have (7.1).
pub const MAX_CHANNELS: usize = 8;
/// The sample rates a sound may have, in Hz.
pub const RATES: std::ops::RangeInclusive<u32> = 1_000..=384_000;

/// What a decoded stream was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// The container: `wav`, `aiff`, `flac`, `ogg`, `mp3`.
    pub format: &'static str,
    /// The codec: `pcm`, `adpcm`, `flac`, `vorbis`, `mp3`.
    pub codec: &'static str,
    pub sample_rate: u32,
    pub channels: u16,
    /// Bits per sample of a lossless source (PCM, FLAC), as stored.
    pub bits_per_sample: Option<u16>,
    /// Frames decoded (one sample per channel each), encoder delay and
    /// padding already trimmed.
    pub frames: u64,
}

/// The codec's name, or `None` for one the packer does not decode.
fn codec_name(id: AudioCodecId) -> Option<&'static str> {
    Some(match id {
        CODEC_ID_FLAC => "flac",
        CODEC_ID_VORBIS => "vorbis",
        CODEC_ID_MP3 => "mp3",
        CODEC_ID_ADPCM_IMA_WAV | CODEC_ID_ADPCM_IMA_QT | CODEC_ID_ADPCM_MS => "adpcm",
        CODEC_ID_PCM_ALAW | CODEC_ID_PCM_MULAW => "pcm",
        CODEC_ID_PCM_S8 | CODEC_ID_PCM_U8 | CODEC_ID_PCM_S16LE | CODEC_ID_PCM_S16BE | CODEC_ID_PCM_S24LE
        | CODEC_ID_PCM_S24BE | CODEC_ID_PCM_S32LE | CODEC_ID_PCM_S32BE | CODEC_ID_PCM_F32LE | CODEC_ID_PCM_F32BE
        | CODEC_ID_PCM_F64LE | CODEC_ID_PCM_F64BE | CODEC_ID_PCM_U16LE | CODEC_ID_PCM_U16BE | CODEC_ID_PCM_U24LE
        | CODEC_ID_PCM_U24BE | CODEC_ID_PCM_U32LE | CODEC_ID_PCM_U32BE => "pcm",
        _ => return None,
    })
}

/// Names a codec the packer does not decode, for the message that says so.
fn unsupported_name(id: AudioCodecId) -> String {
    match id {
        CODEC_ID_OPUS => "Opus".to_string(),
        CODEC_ID_AAC => "AAC".to_string(),
        CODEC_ID_MP1 => "MPEG layer 1".to_string(),
        CODEC_ID_MP2 => "MPEG layer 2".to_string(),
        CODEC_ID_ALAC => "ALAC".to_string(),
        _ => format!("codec {id}"),
    }
}

/// Decodes the whole of `bytes` (a file with extension `ext`), handing each
/// decoded block to `each` with the stream's shape, as planar `f32` (one
/// slice per channel, all the same length). Any packet that does not decode, a stream cut short, or
/// fewer frames than a lossless header announces is an error: a build would
/// otherwise ship a sound with a hole in it.
pub fn decode(bytes: &[u8], ext: &str, mut each: impl FnMut(&Stream, &[&[f32]])) -> Result<Stream, String> {
    let mut hint = Hint::new();
    hint.with_extension(ext);
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes)), MediaSourceStreamOptions::default());
    let mut reader = symphonia::default::get_probe()
        .probe(&hint, source, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            Error::Unsupported(_) => "the file is not WAV, AIFF, FLAC, Ogg or MP3 audio".to_string(),
            e => format!("the audio header cannot be read: {e}"),
        })?;
    let format = match reader.format_info().short_name {
        "wave" => "wav",
        "aiff" => "aiff",
        "flac" => "flac",
        "ogg" => "ogg",
        "mp3" => "mp3",
        other => return Err(format!("the {other} container is not one the packer reads")),
    };
    let track = reader.default_track(TrackType::Audio).ok_or("the file holds no audio track")?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or("the audio track's codec cannot be read from the header")?
        .clone();
    let (track_id, announced) = (track.id, track.num_frames);
    let codec = codec_name(params.codec).ok_or_else(|| {
        format!(
            "{} audio is not decoded by the packer (it takes PCM, ADPCM, FLAC, Vorbis and MP3)",
            unsupported_name(params.codec)
        )
    })?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| format!("the {codec} decoder cannot start: {e}"))?;
    let sample_rate = params.sample_rate.unwrap_or(0);
    let channels = params.channels.as_ref().map_or(0, |c| c.count());
    let mut stream = Stream {
        format,
        codec,
        sample_rate,
        channels: channels as u16,
        bits_per_sample: params.bits_per_sample.filter(|_| matches!(codec, "pcm" | "flac")).map(|b| b as u16),
        frames: 0,
    };
    check_shape(sample_rate, channels)?;
    let at = |frames: u64| format!("{:.3} s", frames as f64 / f64::from(sample_rate));
    let mut planes: Vec<Vec<f32>> = Vec::new();
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(format!("the file is cut short: it ends inside a packet at {}", at(stream.frames)))
            }
            Err(Error::ResetRequired) => {
                return Err(format!("a second, chained stream starts at {}: split it into files", at(stream.frames)))
            }
            Err(e) => return Err(format!("the audio cannot be read at {}: {e}", at(stream.frames))),
        };
        if packet.track_id != track_id {
            continue;
        }
        let (dur, trim_start, trim_end) = (packet.dur.get(), packet.trim_start.get(), packet.trim_end.get());
        let block =
            decoder.decode(&packet).map_err(|e| format!("the audio does not decode at {}: {e}", at(stream.frames)))?;
        // The sound's shape is the decoder's, whatever the header said.
        let spec = block.spec();
        if spec.rate() != sample_rate || spec.channels().count() != channels {
            return Err(format!(
                "the audio changes from {channels} channels at {sample_rate} Hz to {} at {} Hz at {}",
                spec.channels().count(),
                spec.rate(),
                at(stream.frames)
            ));
        }
        block.copy_to_vecs_planar::<f32>(&mut planes);
        let frames = block.frames() as u64;
        // A decoder that did not trim its delay and padding itself.
        // (Sums saturate: the trims come from the file.)
        let whole = dur.saturating_add(trim_start).saturating_add(trim_end);
        let (start, len) = if trim_start.saturating_add(trim_end) > 0 && frames == whole {
            (trim_start as usize, dur as usize)
        } else {
            (0, frames as usize)
        };
        if len == 0 {
            continue;
        }
        let slices: Vec<&[f32]> = planes.iter().map(|p| &p[start..start + len]).collect();
        each(&stream, &slices);
        stream.frames += len as u64;
    }
    // Lossless containers say how many frames they hold; fewer is a file cut short.
    if let Some(n) = announced.filter(|_| matches!(codec, "pcm" | "adpcm" | "flac")) {
        if stream.frames < n {
            return Err(format!(
                "the file is cut short: it holds {} of the {n} frames its header announces ({} of {})",
                stream.frames,
                at(stream.frames),
                at(n)
            ));
        }
    }
    Ok(stream)
}

fn check_shape(sample_rate: u32, channels: usize) -> Result<(), String> {
    if !RATES.contains(&sample_rate) {
        return Err(format!(
            "a sample rate of {sample_rate} Hz is not one the packer takes ({} to {} Hz)",
            RATES.start(),
            RATES.end()
        ));
    }
    if !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(format!("{channels} channels is not a count the packer takes (1 to {MAX_CHANNELS})"));
    }
    Ok(())
}
