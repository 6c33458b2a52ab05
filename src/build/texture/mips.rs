//! Mip chains and `max_size` downscaling, in plain scalar f32.
//!
//! Filtering happens in linear light on premultiplied alpha (what engines'
//! box filters do: a checkerboard averages to sRGB 188, not 127, and colour
//! under transparent texels does not bleed). Normal maps are averaged as
//! vectors and renormalised at every level. Everything here is scalar Rust
//! f32/f64 with libm for the transfer curve: Rust never contracts to FMA and
//! libm is pure Rust, so the bytes are the same on every x86_64 machine.
//!
//! Memory: only the level being reduced and the next one are held as f32
//! (16 bytes per texel); finished levels are kept as RGBA8.

use std::sync::OnceLock;

use super::format::Use;

/// A tightly packed RGBA8 image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgba8Image {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` bytes, rows top to bottom.
    pub pixels: Vec<u8>,
}

/// How pixels are filtered, from the use and the alpha settings.
#[derive(Clone, Copy, Debug)]
pub struct Filter {
    pub use_: Use,
    /// The source's colour is already multiplied by its alpha.
    pub source_premultiplied: bool,
    /// Write colour multiplied by alpha (the `premultiplied_alpha` setting).
    pub output_premultiplied: bool,
}

impl Filter {
    fn srgb(self) -> bool {
        matches!(self.use_, Use::Color | Use::Ui)
    }
    /// Colour is weighted by alpha for colour-like uses; mask channels and
    /// normals are independent of alpha.
    fn premultiply(self) -> bool {
        matches!(self.use_, Use::Color | Use::Ui | Use::Linear)
    }
    fn normal(self) -> bool {
        self.use_ == Use::Normal
    }
}

/// A level in the working representation: linear, premultiplied where the
/// use premultiplies, normals as vectors in [-1, 1].
struct LevelF32 {
    width: u32,
    height: u32,
    px: Vec<[f32; 4]>,
}

/// sRGB byte -> linear, built once with libm (not the system libm, which may differ).
fn srgb_decode_table() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            *v = srgb_to_linear(i as f64 / 255.0) as f32;
        }
        t
    })
}

/// For each byte value `i < 255`, the linear value at which the encoded
/// value crosses `i + 0.5`: encoding is a binary search in it, which gives
/// the correctly rounded byte without a `powf` per texel.
fn srgb_encode_thresholds() -> &'static [f32; 255] {
    static TABLE: OnceLock<[f32; 255]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0f32; 255];
        for (i, v) in t.iter_mut().enumerate() {
            *v = srgb_to_linear((i as f64 + 0.5) / 255.0) as f32;
        }
        t
    })
}

fn srgb_to_linear(c: f64) -> f64 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        libm::pow((c + 0.055) / 1.055, 2.4)
    }
}

/// Linear [0, 1] -> sRGB byte, correctly rounded.
pub fn linear_to_srgb8(l: f32) -> u8 {
    let t = srgb_encode_thresholds();
    // Number of thresholds at or below `l` = the rounded encoded byte.
    t.partition_point(|&x| x <= l) as u8
}

/// sRGB byte -> linear [0, 1].
pub fn srgb8_to_linear(v: u8) -> f32 {
    srgb_decode_table()[v as usize]
}

fn unorm8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

fn to_f32(img: &Rgba8Image, f: Filter) -> LevelF32 {
    let lut = srgb_decode_table();
    let px = img
        .pixels
        .chunks_exact(4)
        .map(|p| {
            let a = p[3] as f32 / 255.0;
            if f.normal() {
                let v = |c: u8| c as f32 / 255.0 * 2.0 - 1.0;
                return [v(p[0]), v(p[1]), v(p[2]), a];
            }
            let c = |c: u8| if f.srgb() { lut[c as usize] } else { c as f32 / 255.0 };
            let k = if f.premultiply() && !f.source_premultiplied { a } else { 1.0 };
            [c(p[0]) * k, c(p[1]) * k, c(p[2]) * k, a]
        })
        .collect();
    LevelF32 { width: img.width, height: img.height, px }
}

/// Renormalises normal vectors in place (a zero vector becomes +Z).
fn renormalise(level: &mut LevelF32) {
    for p in &mut level.px {
        let len = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        if len > 1e-6 {
            p[0] /= len;
            p[1] /= len;
            p[2] /= len;
        } else {
            p[0] = 0.0;
            p[1] = 0.0;
            p[2] = 1.0;
        }
    }
}

fn to_rgba8(level: &LevelF32, f: Filter) -> Rgba8Image {
    let mut pixels = Vec::with_capacity(level.px.len() * 4);
    for p in &level.px {
        let a = p[3].clamp(0.0, 1.0);
        if f.normal() {
            let e = |v: f32| unorm8(v * 0.5 + 0.5);
            pixels.extend_from_slice(&[e(p[0]), e(p[1]), e(p[2]), unorm8(a)]);
            continue;
        }
        // The working colour is premultiplied when the use premultiplies;
        // undo that unless the output wants it premultiplied.
        let premultiplied = f.premultiply();
        let c = if premultiplied && !f.output_premultiplied {
            if a > 0.0 {
                [p[0] / a, p[1] / a, p[2] / a]
            } else {
                [0.0; 3]
            }
        } else {
            [p[0], p[1], p[2]]
        };
        for ch in c {
            pixels.push(if f.srgb() { linear_to_srgb8(ch.clamp(0.0, 1.0)) } else { unorm8(ch) });
        }
        pixels.push(unorm8(a));
    }
    Rgba8Image { width: level.width, height: level.height, pixels }
}

/// Area-coverage taps for resampling `src` samples to `dst` (box filter of
/// any ratio): 2:1 gives weights ½ ½, 5 -> 2 gives 1, 1, ½ over 2.5. Weights
/// are computed in f64 and rounded once, so they are the same everywhere.
fn box_taps(src: u32, dst: u32) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|i| {
            let lo = i as f64 * scale;
            let hi = (i + 1) as f64 * scale;
            let mut taps = Vec::with_capacity(scale.ceil() as usize + 1);
            let mut j = lo.floor() as usize;
            while (j as f64) < hi && j < src as usize {
                let cover = (hi.min(j as f64 + 1.0) - lo.max(j as f64)) / scale;
                if cover > 0.0 {
                    taps.push((j, cover as f32));
                }
                j += 1;
            }
            taps
        })
        .collect()
}

/// Separable area resample to `dw` x `dh` (horizontal pass, then vertical).
fn resample(src: &LevelF32, dw: u32, dh: u32) -> LevelF32 {
    let (sw, sh) = (src.width as usize, src.height as usize);
    let (dwu, dhu) = (dw as usize, dh as usize);
    let wx = box_taps(src.width, dw);
    let wy = box_taps(src.height, dh);
    let mut tmp = vec![[0f32; 4]; dwu * sh];
    for y in 0..sh {
        let row = &src.px[y * sw..(y + 1) * sw];
        for (x, taps) in wx.iter().enumerate() {
            tmp[y * dwu + x] = weighted(taps.iter().map(|&(j, w)| (row[j], w)));
        }
    }
    let mut px = vec![[0f32; 4]; dwu * dhu];
    for (y, taps) in wy.iter().enumerate() {
        for x in 0..dwu {
            px[y * dwu + x] = weighted(taps.iter().map(|&(j, w)| (tmp[j * dwu + x], w)));
        }
    }
    LevelF32 { width: dw, height: dh, px }
}

fn weighted(taps: impl Iterator<Item = ([f32; 4], f32)>) -> [f32; 4] {
    let mut acc = [0f32; 4];
    for (s, w) in taps {
        for c in 0..4 {
            acc[c] += s[c] * w;
        }
    }
    acc
}

/// Number of levels in a full chain: floor(log2(max side)) + 1.
pub fn level_count(width: u32, height: u32) -> u32 {
    32 - width.max(height).max(1).leading_zeros()
}

/// The full chain from `base` down to 1x1 (next size max(1, floor(n/2)) per
/// axis, the Vulkan/D3D rule). Level 0 is `base` itself unless the source's
/// and the output's alpha conventions differ, when it is converted too.
/// `keep_going` is asked before each reduction (cancel); `None` when it said no.
pub fn mip_chain(base: Rgba8Image, f: Filter, keep_going: &dyn Fn() -> bool) -> Option<Vec<Rgba8Image>> {
    let mut cur = to_f32(&base, f);
    let needs_rewrite = f.output_premultiplied != f.source_premultiplied && f.premultiply();
    let mut levels = vec![if needs_rewrite { to_rgba8(&cur, f) } else { base }];
    while cur.width > 1 || cur.height > 1 {
        if !keep_going() {
            return None;
        }
        let mut next = resample(&cur, (cur.width / 2).max(1), (cur.height / 2).max(1));
        if f.normal() {
            // Continue from the renormalised level, as the GPU sees it.
            renormalise(&mut next);
        }
        levels.push(to_rgba8(&next, f));
        cur = next;
    }
    Some(levels)
}

/// Level 0 alone, with the output alpha convention applied (for textures
/// without mips).
pub fn base_level(base: Rgba8Image, f: Filter) -> Rgba8Image {
    if f.output_premultiplied != f.source_premultiplied && f.premultiply() {
        to_rgba8(&to_f32(&base, f), f)
    } else {
        base
    }
}

/// Shrinks `img` so that its largest side is at most `max_size`, keeping the
/// aspect (each side floor(side * max / largest), at least 1), with the same
/// area filter in linear light. Returns whether it shrank.
pub fn downscale_to_max(img: Rgba8Image, f: Filter, max_size: u32) -> (Rgba8Image, bool) {
    let largest = img.width.max(img.height);
    let max_size = max_size.max(1);
    if largest <= max_size {
        return (img, false);
    }
    let scale = |side: u32| ((u64::from(side) * u64::from(max_size)) / u64::from(largest)).max(1) as u32;
    let (dw, dh) = (scale(img.width), scale(img.height));
    // The source's alpha convention is kept: this is still a source image.
    let keep = Filter { output_premultiplied: f.source_premultiplied, ..f };
    let mut out = resample(&to_f32(&img, keep), dw, dh);
    if f.normal() {
        renormalise(&mut out);
    }
    (to_rgba8(&out, keep), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(use_: Use) -> Filter {
        Filter { use_, source_premultiplied: false, output_premultiplied: false }
    }

    fn solid(w: u32, h: u32, p: [u8; 4]) -> Rgba8Image {
        Rgba8Image { width: w, height: h, pixels: p.repeat((w * h) as usize) }
    }

    #[test]
    fn srgb_encode_inverts_decode_for_every_byte() {
        for v in 0..=255u8 {
            assert_eq!(linear_to_srgb8(srgb8_to_linear(v)), v);
        }
        assert_eq!(linear_to_srgb8(0.5), 188);
    }

    #[test]
    fn box_taps_weight_odd_sizes_fractionally() {
        let t = box_taps(5, 2);
        assert_eq!(t[0], vec![(0, 0.4), (1, 0.4), (2, 0.2)]);
        assert_eq!(t[1], vec![(2, 0.2), (3, 0.4), (4, 0.4)]);
        assert_eq!(box_taps(4, 2)[1], vec![(2, 0.5), (3, 0.5)]);
    }

    #[test]
    fn chain_of_300x200_halves_with_floor_down_to_1x1() {
        let levels = mip_chain(solid(300, 200, [10, 20, 30, 255]), filter(Use::Color), &|| true).unwrap();
        let sizes: Vec<_> = levels.iter().map(|l| (l.width, l.height)).collect();
        assert_eq!(sizes, [(300, 200), (150, 100), (75, 50), (37, 25), (18, 12), (9, 6), (4, 3), (2, 1), (1, 1)]);
        assert_eq!(level_count(300, 200), 9);
        // A solid colour stays exactly that colour through the chain.
        assert!(levels.iter().all(|l| l.pixels.chunks(4).all(|p| p == [10, 20, 30, 255])));
    }

    #[test]
    fn transparent_colour_does_not_bleed() {
        // Left half opaque red, right half transparent green: the average is red at half alpha.
        let mut img = solid(2, 1, [255, 0, 0, 255]);
        img.pixels[4..].copy_from_slice(&[0, 255, 0, 0]);
        let levels = mip_chain(img, filter(Use::Color), &|| true).unwrap();
        assert_eq!(levels[1].pixels, [255, 0, 0, 128]);
    }

    #[test]
    fn premultiplied_output_multiplies_colour_by_alpha() {
        let f = Filter { output_premultiplied: true, ..filter(Use::Linear) };
        let levels = mip_chain(solid(2, 2, [200, 100, 50, 128]), f, &|| true).unwrap();
        assert_eq!(levels[0].pixels[..4], [100, 50, 25, 128]);
        assert_eq!(levels[1].pixels, [100, 50, 25, 128]);
    }

    #[test]
    fn a_premultiplied_source_is_stored_straight_unless_asked() {
        let f = Filter { source_premultiplied: true, ..filter(Use::Linear) };
        let levels = mip_chain(solid(2, 2, [100, 50, 25, 128]), f, &|| true).unwrap();
        assert_eq!(levels[0].pixels[..4], [199, 100, 50, 128]);
        let f = Filter { output_premultiplied: true, ..f };
        assert_eq!(base_level(solid(1, 1, [100, 50, 25, 128]), f).pixels, [100, 50, 25, 128]);
    }

    #[test]
    fn normals_are_renormalised() {
        // Tilts of (±0.6, 0, 0.8) average to (0, 0, 0.8): renormalised to +Z.
        let mut img = solid(2, 1, [204, 128, 230, 255]);
        img.pixels[4..].copy_from_slice(&[51, 128, 230, 255]);
        let levels = mip_chain(img, filter(Use::Normal), &|| true).unwrap();
        let p = &levels[1].pixels;
        assert!(p[0].abs_diff(128) <= 1 && p[2] == 255, "{p:?}");
    }

    #[test]
    fn downscale_keeps_aspect_and_reports_it() {
        let (out, shrank) = downscale_to_max(solid(300, 200, [1, 2, 3, 255]), filter(Use::Color), 64);
        assert!(shrank);
        assert_eq!((out.width, out.height), (64, 42));
        let (same, shrank) = downscale_to_max(solid(30, 20, [1, 2, 3, 255]), filter(Use::Color), 64);
        assert!(!shrank);
        assert_eq!(same.width, 30);
    }

    #[test]
    fn cancelled_chain_stops() {
        assert!(mip_chain(solid(8, 8, [0; 4]), filter(Use::Color), &|| false).is_none());
    }
}
