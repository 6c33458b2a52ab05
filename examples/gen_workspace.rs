//! Generates a deterministic workspace for benchmarks: N assets across
//! nested folders with a realistic mix (many small JSON and text files,
//! PNGs of a few KB up to about a MB, some WAVs); or, with `--textures`, N
//! PNG textures from 256 to 2048 px for the texture benchmark (see
//! [`textures`]); or, with `--audio`, N sounds for the audio benchmark
//! (see [`audio`]).
//!
//! With `--references R`, the JSON files name R assets per asset on
//! average (each naming earlier assets, half by id and half by path), and
//! the workspace is written registered (ids of its own, hashes of the
//! files), so that ids can be named; it prints how many references it wrote.
//!
//! Usage: gen_workspace [--textures | --audio] [--references R] DIR N [SEED]

use std::io::Write;
use std::path::Path;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for test data.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().collect();
    let texture_mode = args.get(1).is_some_and(|a| a == "--textures");
    if texture_mode {
        args.remove(1);
    }
    let audio_mode = args.get(1).is_some_and(|a| a == "--audio");
    if audio_mode {
        args.remove(1);
    }
    let mut per_asset: Option<f64> = None;
    if args.get(1).is_some_and(|a| a == "--references") {
        per_asset = Some(args[2].parse().expect("R is a number"));
        args.drain(1..3);
    }
    if args.len() < 3 {
        eprintln!("usage: gen_workspace [--textures | --audio] [--references R] DIR N [SEED]");
        std::process::exit(2);
    }
    let root = Path::new(&args[1]);
    let n: u64 = args[2].parse().expect("N is a number");
    let mut rng = Rng(args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42) | 1);
    if texture_mode {
        return textures(root, n, &mut rng);
    }
    if audio_mode {
        return audio(root, n, &mut rng);
    }
    std::fs::create_dir_all(root.join("assets"))?;
    std::fs::write(
        root.join("packer.toml"),
        "[project]\nname = \"bench\"\n\n[assets]\nroots = [\"assets\"]\n\n[build]\noutput = \"build\"\n",
    )?;
    std::fs::write(root.join("packer.registry.jsonl"), "{\"format\":\"studio-packer.registry\",\"version\":1}\n")?;
    let words = ["hero", "slime", "cave", "forest", "door", "key", "coin", "boss", "sword", "potion"];
    // References come from a generator of their own: the files other than
    // JSON are the same with and without them.
    let mut refs_rng = Rng(rng.0 ^ 0x9e37_79b9_7f4a_7c15);
    let mut written: Vec<(String, String)> = Vec::new();
    let mut registry: Vec<String> = Vec::new();
    let mut total_refs = 0u64;
    for i in 0..n {
        let dir = format!("assets/{}/{}", words[(i % 10) as usize], (i / 10) % 32);
        std::fs::create_dir_all(root.join(&dir))?;
        let roll = rng.below(100);
        if roll < 55 {
            let fields = 2 + rng.below(40);
            let mut json = String::from("{\n");
            for f in 0..fields {
                let sep = if f + 1 == fields { "" } else { "," };
                json.push_str(&format!("  \"{}_{f}\": {}{sep}\n", words[rng.below(10) as usize], rng.below(100_000)));
            }
            if let Some(r) = per_asset.filter(|_| !written.is_empty()) {
                // A JSON file is 55 % of the assets: it names R / 0.55 on average.
                let mean = r / 0.55;
                let k = refs_rng.below((2.0 * mean).round() as u64 + 1);
                let uses: Vec<String> = (0..k)
                    .map(|_| {
                        let (id, path) = &written[refs_rng.below(written.len() as u64) as usize];
                        format!("\"asset:{}\"", if refs_rng.below(2) == 0 { id } else { path })
                    })
                    .collect();
                total_refs += k;
                json.push_str(&format!(",\n  \"uses\": [{}]\n", uses.join(", ")));
            }
            json.push('}');
            std::fs::write(root.join(format!("{dir}/d{i}.json")), json)?;
        } else if roll < 78 {
            let lines = 1 + rng.below(60);
            let text: String = (0..lines)
                .map(|_| {
                    format!("{} {} {}\n", words[rng.below(10) as usize], words[rng.below(10) as usize], rng.below(1000))
                })
                .collect();
            std::fs::write(root.join(format!("{dir}/t{i}.txt")), text)?;
        } else if roll < 96 {
            // Mostly small sprites, a few large textures.
            let side = if rng.below(20) == 0 { 256 + rng.below(384) } else { 16 + rng.below(112) } as u32;
            let (a, b) = (rng.next(), rng.next());
            let img = image::RgbaImage::from_fn(side, side, |x, y| {
                let v = ((x as u64).wrapping_mul(a) ^ (y as u64).wrapping_mul(b)) >> 7;
                image::Rgba([(v & 0xff) as u8, ((v >> 8) & 0xff) as u8, ((x ^ y) & 0xff) as u8, 255])
            });
            img.save(root.join(format!("{dir}/i{i}.png"))).map_err(std::io::Error::other)?;
        } else {
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 22_050,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w =
                hound::WavWriter::create(root.join(format!("{dir}/s{i}.wav")), spec).map_err(std::io::Error::other)?;
            let len = 2_000 + rng.below(40_000);
            let f = 200.0 + rng.below(800) as f32;
            for t in 0..len {
                let s = (t as f32 * f * std::f32::consts::TAU / 22_050.0).sin() * 8_000.0;
                w.write_sample(s as i16).map_err(std::io::Error::other)?;
            }
            w.finalize().map_err(std::io::Error::other)?;
        }
        if per_asset.is_some() {
            let name = [format!("d{i}.json"), format!("t{i}.txt"), format!("i{i}.png"), format!("s{i}.wav")]
                .into_iter()
                .find(|f| root.join(&dir).join(f).exists())
                .expect("the file just written");
            let path = format!("{dir}/{name}");
            let bytes = std::fs::read(root.join(&path))?;
            let kind = match name.rsplit('.').next() {
                Some("json") => "data",
                Some("txt") => "text",
                Some("png") => "image",
                _ => "audio",
            };
            const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
            let id: String = (0..26).map(|_| ALPHABET[refs_rng.below(32) as usize] as char).collect();
            let hash = blake3::hash(&bytes).to_hex();
            let len = bytes.len();
            registry.push(format!(
                "{{\"id\":\"{id}\",\"path\":\"{path}\",\"kind\":\"{kind}\",\"hash\":\"{hash}\",\"size\":{len},\"tags\":[],\"settings\":{{}}}}"
            ));
            written.push((id, path));
        }
    }
    if per_asset.is_some() {
        registry.sort();
        let mut text = String::from("{\"format\":\"studio-packer.registry\",\"version\":1}\n");
        for line in registry {
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(root.join("packer.registry.jsonl"), text)?;
        println!("{total_refs} references");
    }
    std::io::stdout().flush()
}

/// The texture workspace: `n` PNGs whose sides are 256, 512, 1024 or 2048
/// (35 / 35 / 22 / 8 %; one in five is twice as wide as it is high), of
/// mixed content: 35 % smooth gradients (RGB), 40 % noisy detail (waves
/// plus per-texel noise, RGB), 15 % cut-out sprites with soft alpha edges
/// (RGBA), 10 % tangent-space normal maps (`*_normal.png`, cooked with
/// `use = "normal"` by the rule written in `packer.toml`).
fn textures(root: &Path, n: u64, rng: &mut Rng) -> std::io::Result<()> {
    std::fs::create_dir_all(root.join("assets"))?;
    std::fs::write(
        root.join("packer.toml"),
        "[project]\nname = \"texbench\"\n\n[assets]\nroots = [\"assets\"]\n\n[build]\noutput = \"build\"\n\n\
         [[assets.rules]]\nmatch = [\"assets/**/*_normal.png\"]\nsettings = { use = \"normal\" }\n",
    )?;
    std::fs::write(root.join("packer.registry.jsonl"), "{\"format\":\"studio-packer.registry\",\"version\":1}\n")?;
    let folders = ["env", "props", "chars", "fx", "terrain", "ui"];
    let save = |img: image::DynamicImage, path: String| img.save(root.join(path)).map_err(std::io::Error::other);
    for i in 0..n {
        let dir = format!("assets/{}/{}", folders[(i % 6) as usize], (i / 6) % 8);
        std::fs::create_dir_all(root.join(&dir))?;
        let side = match rng.below(100) {
            0..35 => 256,
            35..70 => 512,
            70..92 => 1024,
            _ => 2048,
        };
        let (w, h) = if rng.below(5) == 0 { (side, side / 2) } else { (side, side) };
        let roll = rng.below(100);
        let (c0, c1) = (rng.next().to_le_bytes(), rng.next().to_le_bytes());
        let (fx, fy) = (1.0 + rng.below(12) as f32, 1.0 + rng.below(12) as f32);
        let mut noise = Rng(rng.next() | 1);
        let mix = |a: u8, b: u8, t: f32| (f32::from(a) + (f32::from(b) - f32::from(a)) * t.clamp(0.0, 1.0)) as u8;
        if roll < 35 {
            // A smooth gradient: linear or radial between two colours.
            let radial = rng.below(2) == 0;
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
                let t = if radial { ((u - 0.5).hypot(v - 0.5) * 1.4).min(1.0) } else { u * 0.7 + v * 0.3 };
                image::Rgb([mix(c0[0], c1[0], t), mix(c0[1], c1[1], t), mix(c0[2], c1[2], t)])
            });
            save(img.into(), format!("{dir}/grad{i}.png"))?;
        } else if roll < 75 {
            // Noisy detail: a few waves with per-texel noise (stone, fabric, foliage).
            let amp = 8 + rng.below(56) as u8;
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
                let wave = ((u * fx * 6.3).sin() * (v * fy * 6.3).cos() * 0.5 + 0.5).clamp(0.0, 1.0);
                let n = noise.next().to_le_bytes();
                let px = |c: usize| mix(c0[c], c1[c], wave).saturating_add(n[c] % amp).saturating_sub(amp / 2);
                image::Rgb([px(0), px(1), px(2)])
            });
            save(img.into(), format!("{dir}/detail{i}.png"))?;
        } else if roll < 90 {
            // A cut-out sprite: a shaded blob on transparency with a soft edge.
            let img = image::RgbaImage::from_fn(w, h, |x, y| {
                let (u, v) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32 - 0.5);
                let r = u.hypot(v) * (1.0 + 0.15 * (u.atan2(v) * fx).sin());
                let alpha = ((0.42 - r) * 40.0).clamp(0.0, 1.0);
                let n = (noise.next() % 16) as u8;
                let shade = (0.5 - r).clamp(0.0, 0.5) * 2.0;
                image::Rgba([
                    mix(c0[0], c1[0], shade).saturating_add(n),
                    mix(c0[1], c1[1], shade),
                    mix(c0[2], c1[2], shade),
                    (alpha * 255.0) as u8,
                ])
            });
            save(img.into(), format!("{dir}/sprite{i}.png"))?;
        } else {
            // A tangent-space normal map of a height field of bumps and ridges.
            let height =
                |u: f32, v: f32| (u * fx * 6.3).sin() * (v * fy * 6.3).sin() * 0.6 + (u * 40.0 + v * 13.0).sin() * 0.1;
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
                let e = 1.0 / w as f32;
                let dx = (height(u + e, v) - height(u - e, v)) / (2.0 * e) * 0.02;
                let dy = (height(u, v + e) - height(u, v - e)) / (2.0 * e) * 0.02;
                let len = (dx * dx + dy * dy + 1.0).sqrt();
                let enc = |c: f32| ((c / len * 0.5 + 0.5) * 255.0).round() as u8;
                image::Rgb([enc(-dx), enc(-dy), enc(1.0)])
            });
            save(img.into(), format!("{dir}/rock{i}_normal.png"))?;
        }
    }
    std::io::stdout().flush()
}

/// The audio workspace: `n` sounds as 16-bit WAV files at 44.1 kHz: 75 %
/// short effects (0.2 to 2 s, mono: a decaying tone with noise), 25 % music
/// (10 to 40 s, stereo: chords of a few partials with vibrato and a noise
/// bed), so that an encoder has real work. Cooked with the defaults (Ogg
/// Vorbis at quality 0.4) for one `desktop` target.
fn audio(root: &Path, n: u64, rng: &mut Rng) -> std::io::Result<()> {
    std::fs::create_dir_all(root.join("assets"))?;
    std::fs::write(
        root.join("packer.toml"),
        "[project]\nname = \"audiobench\"\n\n[assets]\nroots = [\"assets\"]\n\n[build]\noutput = \"build\"\n",
    )?;
    std::fs::write(root.join("packer.registry.jsonl"), "{\"format\":\"studio-packer.registry\",\"version\":1}\n")?;
    let rate = 44_100u32;
    let tau = std::f32::consts::TAU;
    for i in 0..n {
        let music = rng.below(4) == 0;
        let dir = format!("assets/{}/{}", if music { "music" } else { "sfx" }, i % 8);
        std::fs::create_dir_all(root.join(&dir))?;
        let channels: u16 = if music { 2 } else { 1 };
        let seconds =
            if music { 10.0 + rng.below(30_000) as f32 / 1000.0 } else { 0.2 + rng.below(1800) as f32 / 1000.0 };
        let frames = (seconds * rate as f32) as u32;
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w =
            hound::WavWriter::create(root.join(format!("{dir}/a{i}.wav")), spec).map_err(std::io::Error::other)?;
        let base = 110.0 * (1.0 + rng.below(24) as f32 / 12.0);
        let partials: Vec<(f32, f32)> = (0..4)
            .map(|k| (base * (1.0 + k as f32) * (1.0 + rng.below(10) as f32 / 1000.0), 0.5 / (1.0 + k as f32)))
            .collect();
        let decay = 1.0 + rng.below(8) as f32;
        let mut noise = Rng(rng.next() | 1);
        let mut lp = [0.0f32; 2];
        for t in 0..frames {
            let x = t as f32 / rate as f32;
            let env = if music { 0.3 } else { 0.6 * (-x * decay).exp() };
            let vibrato = 1.0 + 0.003 * (tau * 5.0 * x).sin();
            let tone: f32 = partials.iter().map(|(f, a)| a * (tau * f * vibrato * x).sin()).sum();
            for (c, lp) in lp.iter_mut().enumerate().take(usize::from(channels)) {
                let white = (noise.below(2001) as f32 - 1000.0) / 1000.0;
                *lp += 0.1 * (white - *lp);
                let s = env * (tone * if c == 1 { 0.8 } else { 1.0 } + 0.3 * *lp);
                w.write_sample((s.clamp(-1.0, 1.0) * 32_000.0) as i16).map_err(std::io::Error::other)?;
            }
        }
        w.finalize().map_err(std::io::Error::other)?;
    }
    Ok(())
}
