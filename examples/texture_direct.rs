//! The reference for the texture benchmark (`benches/run.sh`): the packer's
//! own pinned cook, `build::texture::cook`, driven directly on every image of
//! a workspace on a rayon pool of all cores, with nothing around it (no
//! registry, no cache, no hashing, no pack). Settings are what a build of
//! the texture workspace resolves: the defaults, and `use = "normal"` for
//! `*_normal.png` (the workspace's one rule), for the `desktop` target.
//! Reads each file, cooks it, and prints only the total bytes cooked.
//!
//! Usage: texture_direct DIR   (cooks the PNGs under DIR/assets)

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use studio_packer::build::texture::{cook, from_settings, Profile};

fn pngs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            pngs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "png") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: texture_direct DIR");
    let mut files = Vec::new();
    pngs(&Path::new(&dir).join("assets"), &mut files)?;
    files.sort();
    let color = from_settings(&serde_json::Map::new()).expect("default settings");
    let normal = from_settings(&serde_json::json!({"use": "normal"}).as_object().cloned().expect("an object"))
        .expect("normal settings");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    let never = || false;
    let total: u64 = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let bytes = std::fs::read(path).expect("read a source");
                let is_normal = path.to_string_lossy().ends_with("_normal.png");
                let settings = if is_normal { &normal } else { &color };
                let cooked = cook(&bytes, "png", settings, Profile::Desktop, "desktop", &never).expect("cook");
                cooked.ktx2.len() as u64
            })
            .sum()
    });
    println!("{total}");
    Ok(())
}
