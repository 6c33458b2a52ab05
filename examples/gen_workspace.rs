//! Generates a deterministic workspace for benchmarks: N assets across
//! nested folders with a realistic mix (many small JSON and text files,
//! PNGs of a few KB up to about a MB, some WAVs).
//!
//! Usage: gen_workspace DIR N [SEED]

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
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gen_workspace DIR N [SEED]");
        std::process::exit(2);
    }
    let root = Path::new(&args[1]);
    let n: u64 = args[2].parse().expect("N is a number");
    let mut rng = Rng(args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42) | 1);
    std::fs::create_dir_all(root.join("assets"))?;
    std::fs::write(
        root.join("packer.toml"),
        "[project]\nname = \"bench\"\n\n[assets]\nroots = [\"assets\"]\n\n[build]\noutput = \"build\"\n",
    )?;
    std::fs::write(root.join("packer.registry.jsonl"), "{\"format\":\"studio-packer.registry\",\"version\":1}\n")?;
    let words = ["hero", "slime", "cave", "forest", "door", "key", "coin", "boss", "sword", "potion"];
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
    }
    std::io::stdout().flush()
}
