//! The reference for the audio benchmark (`benches/run.sh`): the same
//! encoder crate the build uses, `vorbis_rs` (libvorbis), driven directly on
//! every WAV of a workspace on a rayon pool of all cores, at the quality a
//! build of that workspace resolves (the default, 0.4), with nothing around
//! it: each file read and decoded with `hound`, encoded, and only the total
//! bytes printed (no registry, no cache, no pack, no loudness).
//!
//! Usage: audio_direct DIR   (encodes the WAVs under DIR/assets)

use std::num::{NonZeroU32, NonZeroU8};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use vorbis_rs::{VorbisBitrateManagementStrategy, VorbisEncoderBuilder};

fn wavs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            wavs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "wav") {
            out.push(path);
        }
    }
    Ok(())
}

fn encode(path: &Path) -> u64 {
    let reader = hound::WavReader::open(path).expect("a WAV file");
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    let samples: Vec<i16> = reader.into_samples::<i16>().map(|s| s.expect("a sample")).collect();
    let planes: Vec<Vec<f32>> = (0..channels)
        .map(|c| samples.iter().skip(c).step_by(channels).map(|s| f32::from(*s) / 32768.0).collect())
        .collect();
    let rate = NonZeroU32::new(spec.sample_rate).expect("a rate");
    let ch = NonZeroU8::new(spec.channels as u8).expect("channels");
    let mut encoder = VorbisEncoderBuilder::new_with_serial(rate, ch, Vec::new(), 1)
        .bitrate_management_strategy(VorbisBitrateManagementStrategy::QualityVbr { target_quality: 0.4 })
        .build()
        .expect("an encoder");
    let frames = planes[0].len();
    for start in (0..frames).step_by(4096) {
        let end = (start + 4096).min(frames);
        let block: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
        encoder.encode_audio_block(&block).expect("encode");
    }
    encoder.finish().expect("finish").len() as u64
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: audio_direct DIR");
    let mut files = Vec::new();
    wavs(&Path::new(&dir).join("assets"), &mut files)?;
    // Largest first, one file per task: the build schedules its units the
    // same way, so that no core idles through a long tail.
    files.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).map_or(0, |m| m.len())));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    let total: u64 = pool.install(|| files.par_iter().with_max_len(1).map(|p| encode(p)).sum());
    println!("{total}");
    Ok(())
}
