//! Timings of texture cooks (`build::texture::cook`), for BENCHMARKS.md and
//! the cost table in `src/build/texture/encode.rs`: every format and quality
//! on two generated 1024x1024 images, smooth waves and the same with
//! per-texel noise (the slow case for every encoder, ASTC most), on a rayon
//! pool of 1 and of 2 threads; then the latency of a cancel raised 0.5 s into
//! the slowest cook. Prints one line per figure.
//!
//! Usage: cargo run --release --example texture_timings

use std::io::Cursor;
use std::time::Instant;

use studio_packer::build::texture::{cook, GpuFormat, Named, Profile, Quality, TextureSettings};

fn image(noise_amp: u8) -> Vec<u8> {
    let mut s = 5u64;
    let img = image::RgbaImage::from_fn(1024, 1024, |x, y| {
        // xorshift64: deterministic noise.
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let n = s.to_le_bytes();
        let wave = |f: f32, p: f32| ((x as f32 * f + y as f32 * p).sin() * 90.0 + 128.0) as u8;
        image::Rgba([
            wave(0.02, 0.011).wrapping_add(n[0] % noise_amp),
            wave(0.013, 0.03).wrapping_add(n[1] % noise_amp),
            wave(0.005, 0.007),
            255,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("PNG in memory");
    out.into_inner()
}

fn settings(format: GpuFormat, quality: Quality) -> TextureSettings {
    let mut s = TextureSettings { quality, ..TextureSettings::default() };
    s.format.insert("t".into(), format);
    s
}

fn main() {
    let never = || false;
    for (name, noise_amp) in [("smooth", 1u8), ("noisy", 24)] {
        let bytes = image(noise_amp);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            for (profile, format) in [
                (Profile::Desktop, GpuFormat::Bc1),
                (Profile::Desktop, GpuFormat::Bc7),
                (Profile::Mobile, GpuFormat::Astc4x4),
                (Profile::Mobile, GpuFormat::Astc6x6),
                (Profile::Mobile, GpuFormat::Astc8x8),
                (Profile::Uncompressed, GpuFormat::Rgba8),
            ] {
                for &quality in Quality::ALL {
                    let s = settings(format, quality);
                    let t = Instant::now();
                    let c = pool.install(|| cook(&bytes, "png", &s, profile, "t", &never)).expect("cook");
                    let secs = t.elapsed().as_secs_f64();
                    let psnr = c.psnr.map_or("lossless".to_string(), |db| format!("{db:.2} dB"));
                    println!("{name} {threads}thr {} {}: {secs:.3} s, level 0 {psnr}", format.name(), quality.name());
                }
            }
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        let s = settings(GpuFormat::Astc4x4, Quality::High);
        let start = Instant::now();
        let raise = || start.elapsed().as_secs_f64() > 0.5;
        let r = pool.install(|| cook(&bytes, "png", &s, Profile::Mobile, "t", &raise));
        let after = start.elapsed().as_secs_f64() - 0.5;
        println!("{name} cancel astc-4x4 high 2thr: returned {after:.3} s after the flag ({:?})", r.err());
    }
}
