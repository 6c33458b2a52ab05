//! Textures as a game gets them (issue 21's "Done when"): a project of
//! generated images is built over the wire for a `desktop` target (`pc`) and
//! a `mobile` one (`phone`), and the packs are read back with the public
//! `PackReader`. Every texture entry must be a KTX2 file that `ktx2::Reader`
//! and our own spec checker (`common/ktxcheck.rs`, shared with the texture
//! module's unit tests) accept, of its profile's format with its whole mip
//! chain; level 0, decoded by the `dds` crate (not the encoders), must reach
//! the PSNR floors of [`FLOORS`]; builds must be deterministic and switching
//! targets must reuse the cache; effective settings must come with their
//! sources, and invalid ones must be diagnostics with their location.
//!
//! Sizes stay at most 300 px and quality `normal`: this runs in a debug
//! build (the encoders' C++ is optimised even there, our Rust is not).
//! `--nocapture` prints the measured PSNR and angular errors.

mod common;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{ktxcheck, register_all, Fixture, Server};
use serde_json::{json, Value};
use studio_packer::build::pack::{Format, Image, PackReader};

// ---- The test textures ----------------------------------------------------

/// A generated source image, as its PNG and as the RGBA8 pixels that PNG
/// decodes to (grey expanded to R = G = B).
struct Tex {
    /// The name the floors use.
    name: &'static str,
    path: &'static str,
    /// The `use` the rules give it (`color` by default).
    use_: &'static str,
    width: u32,
    height: u32,
    png: Vec<u8>,
    rgba: Vec<u8>,
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn png_of(img: image::DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn tex(name: &'static str, path: &'static str, use_: &'static str, img: image::DynamicImage) -> Tex {
    let png = png_of(img);
    let decoded = image::load_from_memory(&png).unwrap().to_rgba8();
    Tex { name, path, use_, width: decoded.width(), height: decoded.height(), png, rgba: decoded.into_raw() }
}

/// A smooth gradient: red across, green down, blue along the diagonal.
fn gradient(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / (w - 1) as f32;
        let fy = y as f32 / (h - 1) as f32;
        let c = |v: f32| (v * 255.0).round() as u8;
        image::Rgb([c(fx), c(fy), c((fx + fy) * 0.5)])
    })
}

/// Every texture of the project: the list, plus a `ui` gradient
/// (ASTC 4x4 on mobile), a checkerboard of 1-px cells and a gradient whose
/// format a rule overrides.
fn textures() -> &'static [Tex] {
    static TEXTURES: OnceLock<Vec<Tex>> = OnceLock::new();
    TEXTURES.get_or_init(|| {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let noise = image::RgbaImage::from_fn(256, 256, |_, _| {
            image::Rgba(xorshift(&mut seed).to_le_bytes()[..4].try_into().unwrap())
        });
        // A cut-out: a shaded disc with a 1-px soft edge on transparent black.
        let sprite = image::RgbaImage::from_fn(128, 128, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - 64.0, y as f32 + 0.5 - 64.0);
            let coverage = (48.0 - dx.hypot(dy)).clamp(0.0, 1.0);
            if coverage == 0.0 {
                image::Rgba([0, 0, 0, 0])
            } else {
                image::Rgba([220, (90.0 + y as f32).min(255.0) as u8, 40, (coverage * 255.0).round() as u8])
            }
        });
        // Tangent-space normals of a hemisphere, `v * 0.5 + 0.5`.
        let sphere = image::RgbImage::from_fn(128, 128, |x, y| {
            let nx = (x as f32 + 0.5) / 128.0 * 2.0 - 1.0;
            let ny = (y as f32 + 0.5) / 128.0 * 2.0 - 1.0;
            let r2 = nx * nx + ny * ny;
            let (nx, ny, nz) = if r2 < 0.81 { (nx, ny, (1.0 - r2).sqrt()) } else { (0.0, 0.0, 1.0) };
            let e = |v: f32| ((v * 0.5 + 0.5) * 255.0).round() as u8;
            image::Rgb([e(nx), e(ny), e(nz)])
        });
        // One channel: a radial falloff.
        let mask = image::GrayImage::from_fn(128, 128, |x, y| {
            let d = (x as f32 - 64.0).hypot(y as f32 - 64.0) / 64.0;
            image::Luma([(255.0 * (1.0 - d).clamp(0.0, 1.0)).round() as u8])
        });
        let wide = image::RgbImage::from_fn(300, 200, |x, y| {
            let (fx, fy) = (x as f32 / 299.0, y as f32 / 199.0);
            let wave = 0.5 + 0.5 * (fx * 6.0 + fy * 3.0).sin();
            image::Rgb([(fx * 255.0) as u8, (wave * 255.0) as u8, (fy * 255.0) as u8])
        });
        let checker =
            image::RgbImage::from_fn(256, 256, |x, y| image::Rgb(if (x + y) % 2 == 0 { [255; 3] } else { [0; 3] }));
        let ui = image::DynamicImage::ImageRgb8(gradient(256, 256)).to_rgba8();
        vec![
            tex("gradient", "assets/color/gradient.png", "color", gradient(256, 256).into()),
            tex("noise", "assets/color/noise.png", "color", noise.into()),
            tex("sprite", "assets/color/sprite.png", "color", sprite.into()),
            tex("300x200", "assets/color/wide.png", "color", wide.into()),
            tex("checkerboard", "assets/color/checker.png", "color", checker.into()),
            tex("normal sphere", "assets/normals/sphere.png", "normal", sphere.into()),
            tex("mask", "assets/masks/falloff.png", "mask", mask.into()),
            tex("ui gradient", "assets/ui/panel.png", "ui", ui.into()),
            // The formats no default picks (BC1, ASTC 8x8), by a rule's
            // per-target `format`: the protocol's floors name them too.
            tex("gradient, format override", "assets/override/gradient.png", "color", gradient(256, 256).into()),
        ]
    })
}

fn texture(name: &str) -> &'static Tex {
    textures().iter().find(|t| t.name == name).unwrap()
}

const TARGETS: &str = "
[[build.targets]]
name = \"pc\"
profile = \"desktop\"

[[build.targets]]
name = \"phone\"
profile = \"mobile\"
";

const RULES: &str = "
[[assets.rules]]
match = [\"assets/normals/**\"]
settings = { use = \"normal\" }

[[assets.rules]]
match = [\"assets/masks/**\"]
settings = { use = \"mask\" }

[[assets.rules]]
match = [\"assets/ui/**\"]
settings = { use = \"ui\" }

[[assets.rules]]
match = [\"assets/override/**\"]
settings = { format = { pc = \"bc1\", phone = \"astc-8x8\" } }
";

/// The 1-based lines of the `[[assets.rules]]` headers of `packer.toml`.
fn rule_lines(manifest: &str) -> Vec<u64> {
    manifest.lines().zip(1..).filter(|(l, _)| l.trim() == "[[assets.rules]]").map(|(_, n)| n).collect()
}

/// A registered project holding every texture, with both targets and the rules.
fn texture_project() -> Fixture {
    let files: Vec<(&str, &[u8])> = textures().iter().map(|t| (t.path, t.png.as_slice())).collect();
    let f = Fixture::new(&files);
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap() + TARGETS + RULES;
    std::fs::write(f.path("packer.toml"), manifest).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    assert_eq!(register_all(&mut s, &pid, &f).len(), textures().len());
    assert_eq!(s.shutdown(), 0);
    f
}

// ---- What each target should get --------------------------------------------

/// The VkFormat a texture gets: the profile's for its use (the protocol's
/// "Formats per profile" table, `src/build/texture/format.rs::default_format`;
/// the mask is one channel), or the rule's override.
fn expected_vk_format(target: &str, t: &Tex) -> u32 {
    if t.path.starts_with("assets/override/") {
        return if target == "pc" { 132 } else { 172 }; // BC1 sRGB, ASTC 8x8 sRGB
    }
    match (target, t.use_) {
        ("pc", "color" | "ui") => 146,       // BC7 sRGB
        ("pc", "normal") => 141,             // BC5
        ("pc", "mask") => 139,               // BC4
        ("phone", "color") => 166,           // ASTC 6x6 sRGB
        ("phone", "ui") => 158,              // ASTC 4x4 sRGB
        ("phone", "normal" | "mask") => 157, // ASTC 4x4
        _ => unreachable!("{target} {}", t.use_),
    }
}

/// Full mip chain, except for `ui` (drawn 1:1: no mipmaps by default).
fn expected_levels(t: &Tex) -> u32 {
    if t.use_ == "ui" {
        1
    } else {
        t.width.max(t.height).ilog2() + 1
    }
}

// ---- Reading what was built -----------------------------------------------

/// Every entry of a pack (given as its bytes): path -> (table entry's image, KTX2 bytes).
fn pack_entries(pack: &[u8]) -> BTreeMap<String, (Format, Image, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.pack");
    std::fs::write(&path, pack).unwrap();
    let reader = PackReader::open(&path).unwrap();
    reader.verify().unwrap();
    reader.entries().iter().map(|e| (e.path.clone(), (e.format, e.image, reader.read(e).unwrap()))).collect()
}

/// Level `level` of a KTX2 file decoded to RGBA8 by the `dds` crate (which
/// shares no code with the encoders), values as stored (sRGB stays sRGB).
fn decode(ktx: &[u8], level: usize) -> (u32, u32, Vec<u8>) {
    let reader = ktx2::Reader::new(ktx).unwrap();
    let header = reader.header();
    let (w, h) = ((header.pixel_width >> level).max(1), (header.pixel_height >> level).max(1));
    let format = match header.format.unwrap().value() {
        131 | 132 => dds::Format::BC1_UNORM,
        145 | 146 => dds::Format::BC7_UNORM,
        139 => dds::Format::BC4_UNORM,
        141 => dds::Format::BC5_UNORM,
        157 | 158 => dds::Format::ASTC_4X4_UNORM,
        165 | 166 => dds::Format::ASTC_6X6_UNORM,
        171 | 172 => dds::Format::ASTC_8X8_UNORM,
        vk => panic!("no decoder mapping for vkFormat {vk}"),
    };
    let data = reader.levels().nth(level).unwrap().data;
    let mut out = vec![0u8; w as usize * h as usize * 4];
    let view = dds::ImageViewMut::new(&mut out, dds::Size::new(w, h), dds::ColorFormat::RGBA_U8).unwrap();
    dds::decode(&mut &data[..], view, format, &dds::DecodeOptions::default()).unwrap();
    (w, h, out)
}

/// PSNR over the channel pairs `(source channel, decoded channel)`.
fn psnr(source: &[u8], decoded: &[u8], channels: &[(usize, usize)]) -> f64 {
    let (mut se, mut n) = (0f64, 0f64);
    for (a, b) in source.chunks_exact(4).zip(decoded.chunks_exact(4)) {
        for &(ca, cb) in channels {
            let d = f64::from(a[ca]) - f64::from(b[cb]);
            se += d * d;
            n += 1.0;
        }
    }
    if se == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / (se / n)).log10()
}

/// Mean angle in degrees between the source's normals (XYZ in RGB) and the
/// decoded ones: X and Y from channels `x` and `y`, Z reconstructed.
fn mean_angle_degrees(source: &[u8], decoded: &[u8], x: usize, y: usize) -> f64 {
    let unit = |v: [f64; 3]| {
        let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        [v[0] / l, v[1] / l, v[2] / l]
    };
    let snorm = |c: u8| f64::from(c) / 255.0 * 2.0 - 1.0;
    let (mut sum, mut n) = (0.0, 0.0);
    for (a, b) in source.chunks_exact(4).zip(decoded.chunks_exact(4)) {
        let u = unit([snorm(a[0]), snorm(a[1]), snorm(a[2])]);
        let (dx, dy) = (snorm(b[x]), snorm(b[y]));
        let w = unit([dx, dy, (1.0 - dx * dx - dy * dy).max(0.0).sqrt()]);
        sum += (u[0] * w[0] + u[1] * w[1] + u[2] * w[2]).clamp(-1.0, 1.0).acos().to_degrees();
        n += 1.0;
    }
    sum / n
}

// ---- One build shared by the tests that only read its packs ---------------

struct Built {
    /// The project's files as registered, before any build (to copy it).
    files: BTreeMap<String, Vec<u8>>,
    /// `pc`, then `phone`, then `pc` again, each into an empty output folder.
    switch: Vec<Value>,
    /// Target -> its `main.pack`, as those builds wrote it.
    packs: BTreeMap<&'static str, Vec<u8>>,
    /// Wall time of the first `pc` and the `phone` build (both cook everything).
    cook_time: Duration,
}

/// The texture project built desktop, then mobile, then desktop (the output
/// folder deleted before each), once for every test of this file.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let f = texture_project();
        let files = f.tree();
        let mut s = Server::ready();
        let pid = s.open(&f.root());
        let (mut switch, mut packs) = (Vec::new(), BTreeMap::new());
        let started = Instant::now();
        let mut cook_time = Duration::ZERO;
        for target in ["pc", "phone", "pc"] {
            let _ = std::fs::remove_dir_all(f.path("build"));
            let r = s.call("packer/build", json!({"projectId": pid, "target": target}));
            assert_eq!(r["outcome"], "succeeded", "{target}: {r}");
            packs.insert(target, std::fs::read(f.path(&format!("build/{target}/main.pack"))).unwrap());
            if switch.len() == 1 {
                cook_time = started.elapsed();
            }
            switch.push(r);
        }
        eprintln!("pc + phone cooked in {cook_time:?}");
        Built { files, switch, packs, cook_time }
    })
}

// ---- 1. Valid KTX2 of the profile's format, whole mip chain -------------------

#[test]
fn every_texture_entry_is_a_valid_ktx2_of_its_profiles_format_with_its_whole_mip_chain() {
    let built = built();
    for target in ["pc", "phone"] {
        let entries = pack_entries(&built.packs[target]);
        assert_eq!(entries.len(), textures().len(), "{target}: {:?}", entries.keys().collect::<Vec<_>>());
        for t in textures() {
            let (format, image, ktx) = &entries[t.path];
            let what = format!("{target} {} ({})", t.name, t.path);
            assert_eq!(*format, Format::Ktx2, "{what}");
            // (a) a reader other than the writer accepts it...
            let reader = ktx2::Reader::new(&ktx[..]).unwrap_or_else(|e| panic!("{what}: ktx2::Reader: {e:?}"));
            let header = reader.header();
            let vk = header.format.map(|f| f.value()).unwrap_or(0);
            // ...with the profile's format and every level.
            assert_eq!(vk, expected_vk_format(target, t), "{what}: vkFormat");
            assert_eq!(header.level_count, expected_levels(t), "{what}: levels");
            assert_eq!((header.pixel_width, header.pixel_height), (t.width, t.height), "{what}: size");
            assert_eq!(reader.levels().len() as u32, header.level_count, "{what}");
            // (b) so does the spec checker, which also checks each level's
            // byte size for its block format, the DFD, alignment and order.
            let errors = ktxcheck::check(ktx, vk, t.width, t.height, expected_levels(t));
            assert!(errors.is_empty(), "{what}: {errors:?}");
            // The pack's table says what the KTX2 header says.
            let from_header = Image {
                width: header.pixel_width,
                height: header.pixel_height,
                vk_format: vk,
                levels: header.level_count,
            };
            assert_eq!(*image, from_header, "{what}: the pack table's image fields");
        }
    }
    // The 300 x 200 texture, spelled out: 9 levels down to 1 x 1, each of
    // whole 4x4 (BC7) or 6x6 (ASTC) blocks of 16 bytes.
    let dims = [(300, 200), (150, 100), (75, 50), (37, 25), (18, 12), (9, 6), (4, 3), (2, 1), (1, 1)];
    for (target, block) in [("pc", 4usize), ("phone", 6)] {
        let entries = pack_entries(&built.packs[target]);
        let ktx = &entries["assets/color/wide.png"].2;
        let sizes: Vec<usize> = ktx2::Reader::new(&ktx[..]).unwrap().levels().map(|l| l.data.len()).collect();
        let want: Vec<usize> =
            dims.iter().map(|&(w, h)| usize::div_ceil(w, block) * usize::div_ceil(h, block) * 16).collect();
        assert_eq!(sizes, want, "{target}: 300x200 level sizes");
    }
}

// ---- 2. PSNR floors and normal maps' angular error -------------------------

/// Which channels a floor compares.
#[derive(Clone, Copy, Debug)]
enum Channels {
    Rgb,
    Rgba,
    /// Grey: the source's value against the decoded R.
    Grey,
}

/// A quality floor of level 0 against the source. `row` and `format` are the
/// "Texture" and "Format" columns of the protocol's table (protocol/README.md,
/// "Textures" > "Quality"; the same floors as issue 21: "BC7 >= 40 dB and
/// ASTC 4 x 4 >= 38 dB on the gradient"). Rows whose `row` the protocol does
/// not have apply its per-format floor to another texture of the set.
struct Floor {
    row: &'static str,
    format: &'static str,
    /// Which of [`textures`] it is measured on, for which target.
    texture: &'static str,
    target: &'static str,
    channels: Channels,
    /// PSNR in dB; for a normal map, the largest mean angular error in degrees.
    limit: f64,
}

const GRADIENT: &str = "gradient, level 0, RGB";
const SPHERE: &str = "normal-map sphere, level 0";

const FLOORS: &[Floor] = &[
    // The protocol's table.
    Floor { row: GRADIENT, format: "BC7", texture: "gradient", target: "pc", channels: Channels::Rgb, limit: 40.0 },
    Floor {
        row: GRADIENT,
        format: "BC1",
        texture: "gradient, format override",
        target: "pc",
        channels: Channels::Rgb,
        limit: 30.0,
    },
    Floor {
        row: GRADIENT,
        format: "ASTC 4×4",
        texture: "ui gradient",
        target: "phone",
        channels: Channels::Rgb,
        limit: 38.0,
    },
    Floor {
        row: GRADIENT,
        format: "ASTC 6×6",
        texture: "gradient",
        target: "phone",
        channels: Channels::Rgb,
        limit: 30.0,
    },
    Floor {
        row: GRADIENT,
        format: "ASTC 8×8",
        texture: "gradient, format override",
        target: "phone",
        channels: Channels::Rgb,
        limit: 28.0,
    },
    Floor { row: SPHERE, format: "BC5", texture: "normal sphere", target: "pc", channels: Channels::Rgb, limit: 2.0 },
    Floor {
        row: SPHERE,
        format: "ASTC 4×4",
        texture: "normal sphere",
        target: "phone",
        channels: Channels::Rgb,
        limit: 2.0,
    },
    // The same per-format floors on the rest of the set: the cut-out with
    // its alpha (both formats keep it), the 300x200 image, the ui gradient
    // on desktop, the mask on mobile.
    Floor {
        row: "sprite, level 0, RGBA",
        format: "BC7",
        texture: "sprite",
        target: "pc",
        channels: Channels::Rgba,
        limit: 40.0,
    },
    Floor {
        row: "sprite, level 0, RGBA",
        format: "ASTC 6×6",
        texture: "sprite",
        target: "phone",
        channels: Channels::Rgba,
        limit: 30.0,
    },
    Floor {
        row: "300×200, level 0, RGB",
        format: "BC7",
        texture: "300x200",
        target: "pc",
        channels: Channels::Rgb,
        limit: 40.0,
    },
    Floor {
        row: "300×200, level 0, RGB",
        format: "ASTC 6×6",
        texture: "300x200",
        target: "phone",
        channels: Channels::Rgb,
        limit: 30.0,
    },
    Floor {
        row: "ui gradient, level 0, RGB",
        format: "BC7",
        texture: "ui gradient",
        target: "pc",
        channels: Channels::Rgb,
        limit: 40.0,
    },
    Floor {
        row: "mask, level 0",
        format: "ASTC 4×4",
        texture: "mask",
        target: "phone",
        channels: Channels::Grey,
        limit: 38.0,
    },
];

/// The protocol's name of a vkFormat (an sRGB one and its unorm twin have
/// the same blocks).
fn format_of_vk(vk: u32) -> &'static str {
    match vk {
        131 | 132 => "BC1",
        145 | 146 => "BC7",
        139 => "BC4",
        141 => "BC5",
        157 | 158 => "ASTC 4×4",
        165 | 166 => "ASTC 6×6",
        171 | 172 => "ASTC 8×8",
        _ => "?",
    }
}

#[test]
fn level_0_reaches_its_formats_psnr_floor_and_normal_maps_keep_their_angles() {
    let built = built();
    let entries: BTreeMap<&str, _> = ["pc", "phone"].into_iter().map(|t| (t, pack_entries(&built.packs[t]))).collect();
    let level0 = |target: &str, t: &Tex| {
        let ktx = &entries[target][t.path].2;
        let vk = ktx2::Reader::new(&ktx[..]).unwrap().header().format.unwrap().value();
        let (w, h, px) = decode(ktx, 0);
        assert_eq!((w, h), (t.width, t.height));
        (format_of_vk(vk), px)
    };
    let mut failures = Vec::new();
    for floor in FLOORS {
        let t = texture(floor.texture);
        let (format, px) = level0(floor.target, t);
        let what = format!("{} | {} ({} on {})", floor.row, floor.format, floor.texture, floor.target);
        assert_eq!(format, floor.format, "{what}");
        if floor.row == SPHERE {
            // BC5 holds X, Y in R, G; ASTC 4x4 in A and G (`gggr`).
            let (x, y) = if format == "BC5" { (0, 1) } else { (3, 1) };
            let degrees = mean_angle_degrees(&t.rgba, &px, x, y);
            eprintln!("{what}: mean angular error {degrees:.3} deg (at most {})", floor.limit);
            if degrees > floor.limit {
                failures.push(format!("{what}: mean angular error {degrees:.3} deg > {}", floor.limit));
            }
            continue;
        }
        let channels: &[(usize, usize)] = match floor.channels {
            Channels::Rgb => &[(0, 0), (1, 1), (2, 2)],
            Channels::Rgba => &[(0, 0), (1, 1), (2, 2), (3, 3)],
            Channels::Grey => &[(0, 0)],
        };
        let db = psnr(&t.rgba, &px, channels);
        eprintln!("{what}: {db:.2} dB (floor {})", floor.limit);
        if db < floor.limit {
            failures.push(format!("{what}: {db:.2} dB < {} dB", floor.limit));
        }
    }
    // Measured, with no floor: noise (whatever an encoder does with it) and
    // the BC4 mask.
    for (name, target, channels) in [
        ("noise", "pc", &[(0, 0), (1, 1), (2, 2), (3, 3)][..]),
        ("noise", "phone", &[(0, 0), (1, 1), (2, 2), (3, 3)][..]),
        ("mask", "pc", &[(0, 0)][..]),
    ] {
        let t = texture(name);
        let (format, px) = level0(target, t);
        eprintln!("{name} on {target}, {format}: {:.2} dB (no floor)", psnr(&t.rgba, &px, channels));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---- 3. Mips in linear light ----------------------------------------------

#[test]
fn a_checkerboards_last_level_averages_in_linear_light_on_both_targets() {
    let built = built();
    let t = texture("checkerboard");
    for target in ["pc", "phone"] {
        let entries = pack_entries(&built.packs[target]);
        let ktx = &entries[t.path].2;
        let last = ktx2::Reader::new(&ktx[..]).unwrap().levels().len() - 1;
        let (w, h, px) = decode(ktx, last);
        assert_eq!((w, h), (1, 1), "{target}");
        // Half white, half black is 0.5 in linear light: 188 in sRGB (128
        // would be averaging the encoded values). The protocol's row "black
        // and white checkerboard, last level | any, `color` | 188 ± 3".
        eprintln!("checkerboard {target}: 1x1 level {:?}", &px[..4]);
        for &v in &px[..3] {
            assert!(v.abs_diff(188) <= 3, "{target}: the last level is {:?}, not about 188", &px[..3]);
        }
    }
}

// ---- 4. Determinism ---------------------------------------------------------

/// A copy of the built project's files (registry included) in a new folder.
fn copy_of(files: &BTreeMap<String, Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

fn build_all(s: &mut Server, pid: &str, clean: bool) -> Value {
    let r = s.call("packer/build", json!({"projectId": pid, "clean": clean}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    r
}

fn read_packs(root: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    ["pc", "phone"]
        .into_iter()
        .map(|t| (t, std::fs::read(root.join(format!("build/{t}/main.pack"))).unwrap()))
        .collect()
}

#[test]
fn two_copies_and_one_worker_against_the_default_give_byte_identical_packs() {
    let built = built();
    let copy = copy_of(&built.files);
    let root = copy.path().canonicalize().unwrap();
    // The copy, built with one worker (whether the variable is honoured at
    // all is `studio_packer_threads_sets_the_number_of_build_workers`)...
    let mut s = Server::ready_with_env(&[("STUDIO_PACKER_THREADS", "1")]);
    let pid = s.open(&root);
    let one = build_all(&mut s, &pid, false);
    assert_eq!(one["stats"]["processed"], 2 * textures().len(), "{one}");
    let one_worker = read_packs(&root);
    assert_eq!(s.shutdown(), 0);
    // ...then again from nothing with the default (every core).
    std::fs::remove_dir_all(root.join("build")).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&root);
    let all = build_all(&mut s, &pid, true);
    assert_eq!(all["stats"]["processed"], 2 * textures().len(), "{all}");
    let all_workers = read_packs(&root);
    for target in ["pc", "phone"] {
        assert!(all_workers[target] == built.packs[target], "{target}: two copies of the project built differently");
        assert!(one_worker[target] == all_workers[target], "{target}: STUDIO_PACKER_THREADS=1 built differently");
    }
}

/// The names of the server's threads that process a build.
fn build_workers(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("packer-build"))
        .collect();
    names.sort();
    names
}

/// That `STUDIO_PACKER_THREADS` is honoured at all (the test above cannot
/// tell "one worker gave the same bytes" from "the variable was ignored").
#[test]
fn studio_packer_threads_sets_the_number_of_build_workers() {
    let t = texture("mask");
    let f = Fixture::new(&[(t.path, &t.png)]);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    register_all(&mut s, &pid, &f);
    assert_eq!(s.shutdown(), 0);
    let cores = std::thread::available_parallelism().unwrap().get();
    for (env, want) in [(Some("1"), 1), (None, cores)] {
        let env: Vec<(&str, &str)> = env.map(|v| ("STUDIO_PACKER_THREADS", v)).into_iter().collect();
        let mut s = Server::ready_with_env(&env);
        let pid = s.open(&f.root());
        build_all(&mut s, &pid, true);
        let workers = build_workers(s.child.id());
        assert_eq!(workers.len(), want, "{env:?}: build workers {workers:?}");
    }
}

// ---- 5. Switching targets ---------------------------------------------------

#[test]
fn desktop_then_mobile_then_desktop_processes_nothing_the_third_time() {
    let built = built();
    let n = textures().len();
    let processed: Vec<&Value> = built.switch.iter().map(|r| &r["stats"]["processed"]).collect();
    assert_eq!(processed, [&json!(n), &json!(n), &json!(0)], "pc, phone, pc: {:#?}", built.switch);
    let third = &built.switch[2];
    assert_eq!(third["stats"]["reused"], n, "{third}");
    assert_eq!(third["packs"][0]["written"], true, "the output was deleted: {third}");
    assert_eq!(third["targets"][0]["target"], "pc");
    // The same pack as the first pc build.
    assert_eq!(third["packs"][0]["hash"], built.switch[0]["packs"][0]["hash"]);
    eprintln!("cooking every texture for pc and phone took {:?}", built.cook_time);
}

// ---- 6. Effective settings and invalid ones -------------------------------

fn get_asset(s: &mut Server, pid: &str, id: &str) -> Value {
    s.call("packer/getAsset", json!({"projectId": pid, "assetId": id}))
}

fn set_settings(s: &mut Server, pid: &str, id: &str, settings: Value) {
    let r = s.apply(pid, json!({"kind": "setMetadata", "assetId": id, "settings": settings}));
    assert_eq!(r["outcome"], "applied", "{r}");
}

#[test]
fn effective_settings_name_their_source_and_invalid_ones_are_diagnostics_with_their_location() {
    let (sphere, gradient) = (texture("normal sphere"), texture("gradient"));
    let f = Fixture::new(&[(sphere.path, &sphere.png), (gradient.path, &gradient.png)]);
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap() + TARGETS + RULES;
    std::fs::write(f.path("packer.toml"), &manifest).unwrap();
    let normal_rule_line = rule_lines(&manifest)[0];
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let (sphere_id, gradient_id) = (ids[sphere.path].as_str(), ids[gradient.path].as_str());

    // From a rule, with the line of its header; the rest defaults.
    let a = get_asset(&mut s, &pid, sphere_id);
    let e = &a["effectiveSettings"];
    assert_eq!(e["use"], json!({"value": "normal", "source": {"kind": "rule", "line": normal_rule_line}}), "{a}");
    assert_eq!(e["quality"], json!({"value": "normal", "source": {"kind": "default"}}), "{a}");
    assert_eq!(e["premultiplied_alpha"], json!({"value": false, "source": {"kind": "default"}}), "{a}");
    assert_eq!(a["settingProblems"], json!([]), "{a}");
    let e = &get_asset(&mut s, &pid, gradient_id)["effectiveSettings"];
    assert_eq!(e["use"], json!({"value": "color", "source": {"kind": "default"}}), "{e}");

    // The asset's own setting wins, and says so.
    set_settings(&mut s, &pid, sphere_id, json!({"quality": "high"}));
    let a = get_asset(&mut s, &pid, sphere_id);
    assert_eq!(a["effectiveSettings"]["quality"], json!({"value": "high", "source": {"kind": "asset"}}), "{a}");
    assert_eq!(a["effectiveSettings"]["use"]["source"], json!({"kind": "rule", "line": normal_rule_line}));
    assert_eq!(a["settingProblems"], json!([]), "{a}");

    // An invalid own setting is a problem naming the key and where it was set...
    set_settings(&mut s, &pid, gradient_id, json!({"quality": "best"}));
    let a = get_asset(&mut s, &pid, gradient_id);
    let problems = a["settingProblems"].as_array().unwrap().clone();
    assert_eq!(problems.len(), 1, "{a}");
    let p = &problems[0];
    assert_eq!((&p["severity"], &p["code"]), (&json!("error"), &json!("invalidSetting")), "{p}");
    assert_eq!((&p["assetId"], &p["path"]), (&json!(gradient_id), &json!(gradient.path)), "{p}");
    let message = p["message"].as_str().unwrap();
    assert!(message.contains("`quality`") && message.contains("the asset's own settings"), "{message}");
    assert!(message.contains("fast, normal, high"), "what is allowed: {message}");
    assert_eq!(a["effectiveSettings"]["quality"], json!({"value": "best", "source": {"kind": "asset"}}), "{a}");

    // ...and the build fails with it, processing nothing, writing no pack.
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "failed", "{r}");
    assert_eq!(r["diagnostics"], json!([p]), "{r}");
    assert_eq!(r["stats"]["processed"], 0, "{r}");
    assert_eq!(r["packs"], json!([]), "{r}");
    assert!(!f.path("build/pc/main.pack").exists() && !f.path("build/phone/main.pack").exists());
    // Nothing was cooked meanwhile: once fixed, every texture of both targets is.
    // (settings merge: `null` removes the key)
    set_settings(&mut s, &pid, gradient_id, json!({"quality": null}));
    let a = get_asset(&mut s, &pid, gradient_id);
    assert_eq!(a["settingProblems"], json!([]), "{a}");
    assert_eq!(a["effectiveSettings"]["quality"]["source"], json!({"kind": "default"}), "{a}");
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert_eq!(r["stats"]["processed"], 4, "{r}");

    // A rule with an invalid value: packer.toml does not reload...
    let bad = format!("{manifest}\n[[assets.rules]]\nmatch = [\"assets/**\"]\nsettings = {{ quality = \"best\" }}\n");
    let bad_line = *rule_lines(&bad).last().unwrap();
    std::fs::write(f.path("packer.toml"), &bad).unwrap();
    let d = s.divergence_until(&pid, |d| d["items"].as_array().unwrap().iter().any(|i| i["kind"] == "manifestChanged"));
    let item = d["items"].as_array().unwrap().iter().find(|i| i["kind"] == "manifestChanged").unwrap().clone();
    let r =
        s.apply(&pid, json!({"kind": "reconcile", "items": [{"divergenceId": item["id"], "resolution": "reload"}]}));
    assert_eq!(r["outcome"], "rejected", "{r}");
    let blocker = &r["blockers"][0];
    assert_eq!(blocker["code"], "manifestInvalid", "{r}");
    let message = blocker["message"].as_str().unwrap();
    assert!(message.contains(&format!("packer.toml:{bad_line}")) && message.contains("`quality`"), "{message}");
    // (the packer keeps the manifest it had: the normal map's rule still applies)
    let a = get_asset(&mut s, &pid, sphere_id);
    assert_eq!(a["effectiveSettings"]["use"]["source"], json!({"kind": "rule", "line": normal_rule_line}), "{a}");

    // ...and another folder with it does not open, naming the line and key.
    let g = Fixture::new(&[(gradient.path, &gradient.png)]);
    std::fs::write(g.path("packer.toml"), &bad).unwrap();
    let e = s.request("packer/openProject", json!({"root": g.root()})).unwrap_err();
    assert_eq!(e["data"]["reason"], "manifestInvalid", "{e}");
    assert!(e["data"]["file"].as_str().unwrap().ends_with("packer.toml"), "{e}");
    assert_eq!(e["data"]["line"], bad_line, "{e}");
    assert_eq!(e["data"]["key"], "quality", "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("packer.toml:{bad_line}")) && message.contains("fast, normal, high"),
        "{message}"
    );
}
