//! Test images, sRGB transfer (pure Rust, libm: deterministic on every x86_64),
//! and a linear-light area (box) mip filter written in plain scalar Rust.

#[derive(Clone)]
pub struct Rgba8 {
    pub w: u32,
    pub h: u32,
    pub px: Vec<u8>,
}

#[derive(Clone)]
pub struct LinF32 {
    pub w: u32,
    pub h: u32,
    /// premultiplied linear RGBA
    pub px: Vec<[f32; 4]>,
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

pub fn noise(w: u32, h: u32, seed: u64, alpha: bool) -> Rgba8 {
    let mut s = seed | 1;
    let mut px = vec![0u8; (w * h * 4) as usize];
    for p in px.chunks_exact_mut(4) {
        let r = xorshift(&mut s);
        p[0] = r as u8;
        p[1] = (r >> 8) as u8;
        p[2] = (r >> 16) as u8;
        p[3] = if alpha { (r >> 24) as u8 } else { 255 };
    }
    Rgba8 { w, h, px }
}

pub fn gradient(w: u32, h: u32) -> Rgba8 {
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let fx = x as f32 / (w - 1).max(1) as f32;
            let fy = y as f32 / (h - 1).max(1) as f32;
            px.extend_from_slice(&[
                (fx * 255.0).round() as u8,
                (fy * 255.0).round() as u8,
                (((fx + fy) * 0.5) * 255.0).round() as u8,
                255,
            ]);
        }
    }
    Rgba8 { w, h, px }
}

pub fn checker(w: u32, h: u32) -> Rgba8 {
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let v = if (x + y) % 2 == 0 { 255 } else { 0 };
            px.extend_from_slice(&[v, v, v, 255]);
        }
    }
    Rgba8 { w, h, px }
}

/// Tangent-space normal map of a hemisphere, encoded as unorm8 (x,y,z)*0.5+0.5.
pub fn normal_sphere(w: u32, h: u32) -> Rgba8 {
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let nx = (x as f32 + 0.5) / w as f32 * 2.0 - 1.0;
            let ny = (y as f32 + 0.5) / h as f32 * 2.0 - 1.0;
            let r2 = nx * nx + ny * ny;
            let (nx, ny, nz) = if r2 < 0.81 {
                (nx, ny, (1.0 - r2).sqrt())
            } else {
                (0.0, 0.0, 1.0)
            };
            let e = |v: f32| ((v * 0.5 + 0.5) * 255.0).round() as u8;
            px.extend_from_slice(&[e(nx), e(ny), e(nz), 255]);
        }
    }
    Rgba8 { w, h, px }
}

pub fn srgb_to_linear(v: u8) -> f32 {
    let c = v as f32 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        libm::powf((c + 0.055) / 1.055, 2.4)
    }
}

pub fn linear_to_srgb8(l: f32) -> u8 {
    let l = l.clamp(0.0, 1.0);
    let c = if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * libm::powf(l, 1.0 / 2.4) - 0.055
    };
    (c * 255.0 + 0.5) as u8
}

pub fn to_linear(img: &Rgba8, srgb: bool) -> LinF32 {
    let lut: Vec<f32> = (0..=255u8)
        .map(|v| if srgb { srgb_to_linear(v) } else { v as f32 / 255.0 })
        .collect();
    let px = img
        .px
        .chunks_exact(4)
        .map(|p| {
            let a = p[3] as f32 / 255.0;
            [lut[p[0] as usize] * a, lut[p[1] as usize] * a, lut[p[2] as usize] * a, a]
        })
        .collect();
    LinF32 { w: img.w, h: img.h, px }
}

pub fn from_linear(img: &LinF32, srgb: bool, renormalize_normal: bool) -> Rgba8 {
    let mut px = Vec::with_capacity(img.px.len() * 4);
    for p in &img.px {
        let a = p[3];
        let mut c = if a > 0.0 { [p[0] / a, p[1] / a, p[2] / a] } else { [0.0; 3] };
        if renormalize_normal {
            let v = [c[0] * 2.0 - 1.0, c[1] * 2.0 - 1.0, c[2] * 2.0 - 1.0];
            let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            if len > 1e-6 {
                c = [
                    v[0] / len * 0.5 + 0.5,
                    v[1] / len * 0.5 + 0.5,
                    v[2] / len * 0.5 + 0.5,
                ];
            }
        }
        for ch in c {
            px.push(if srgb {
                linear_to_srgb8(ch)
            } else {
                (ch.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
            });
        }
        px.push((a.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
    }
    Rgba8 { w: img.w, h: img.h, px }
}

/// Area-coverage weights for reducing `src` samples to `dst` samples (box filter).
/// Even sizes give [0.5, 0.5]; odd sizes (5 -> 2) give [1, 1, 0.5]/2.5 etc.
fn box_weights(src: u32, dst: u32) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|i| {
            let lo = i as f64 * scale;
            let hi = (i + 1) as f64 * scale;
            let mut taps = Vec::new();
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

/// Next mip level: max(1, floor(n/2)) in each axis, area average in linear light.
pub fn downsample(img: &LinF32) -> LinF32 {
    let dw = (img.w / 2).max(1);
    let dh = (img.h / 2).max(1);
    let wx = box_weights(img.w, dw);
    let wy = box_weights(img.h, dh);
    // horizontal pass
    let mut tmp = vec![[0f32; 4]; (dw * img.h) as usize];
    for y in 0..img.h as usize {
        for (x, taps) in wx.iter().enumerate() {
            let mut acc = [0f32; 4];
            for &(j, wt) in taps {
                let s = img.px[y * img.w as usize + j];
                for c in 0..4 {
                    acc[c] += s[c] * wt;
                }
            }
            tmp[y * dw as usize + x] = acc;
        }
    }
    let mut out = vec![[0f32; 4]; (dw * dh) as usize];
    for (y, taps) in wy.iter().enumerate() {
        for x in 0..dw as usize {
            let mut acc = [0f32; 4];
            for &(j, wt) in taps {
                let s = tmp[j * dw as usize + x];
                for c in 0..4 {
                    acc[c] += s[c] * wt;
                }
            }
            out[y * dw as usize + x] = acc;
        }
    }
    LinF32 { w: dw, h: dh, px: out }
}

/// Full chain down to 1x1 (level count = floor(log2(max(w,h))) + 1).
pub fn mip_chain(base: &Rgba8, srgb: bool, normal: bool) -> Vec<Rgba8> {
    let mut levels = vec![base.clone()];
    let mut cur = to_linear(base, srgb && !normal);
    while cur.w > 1 || cur.h > 1 {
        cur = downsample(&cur);
        levels.push(from_linear(&cur, srgb && !normal, normal));
        if normal {
            // continue from the renormalised values, as an engine would
            cur = to_linear(levels.last().unwrap(), false);
        }
    }
    levels
}

pub fn psnr(a: &[u8], b: &[u8], channels: &[usize]) -> f64 {
    let mut se = 0f64;
    let mut n = 0f64;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for &c in channels {
            let d = pa[c] as f64 - pb[c] as f64;
            se += d * d;
            n += 1.0;
        }
    }
    let mse = se / n;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Mean angular error (degrees) between two normal maps encoded in RG (z reconstructed).
pub fn normal_angle_err(a: &[u8], b: &[u8]) -> f64 {
    let dec = |p: &[u8]| {
        let x = p[0] as f64 / 255.0 * 2.0 - 1.0;
        let y = p[1] as f64 / 255.0 * 2.0 - 1.0;
        let z = (1.0 - x * x - y * y).max(0.0).sqrt();
        let l = (x * x + y * y + z * z).sqrt();
        [x / l, y / l, z / l]
    };
    let mut sum = 0.0;
    let mut n = 0.0;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let (u, v) = (dec(pa), dec(pb));
        let d = (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]).clamp(-1.0, 1.0);
        sum += d.acos().to_degrees();
        n += 1.0;
    }
    sum / n
}

/// Gather pixels into 4x4 blocks (edge-replicated), 16 u32 per block, block-row order.
pub fn to_blocks(img: &Rgba8, row0: u32, rows: u32) -> Vec<u32> {
    let bx = img.w.div_ceil(4);
    let mut out = Vec::with_capacity((bx * rows * 16) as usize);
    for by in row0..row0 + rows {
        for bxi in 0..bx {
            for y in 0..4 {
                for x in 0..4 {
                    let sx = (bxi * 4 + x).min(img.w - 1);
                    let sy = (by * 4 + y).min(img.h - 1);
                    let o = ((sy * img.w + sx) * 4) as usize;
                    out.push(u32::from_le_bytes([
                        img.px[o],
                        img.px[o + 1],
                        img.px[o + 2],
                        img.px[o + 3],
                    ]));
                }
            }
        }
    }
    out
}

/// Pad an image to a multiple of `bw` x `bh` by edge replication (for ISPC kernels
/// that only take whole blocks), optionally extracting `ch` channels.
pub fn padded(img: &Rgba8, bw: u32, bh: u32, ch: usize) -> (Vec<u8>, u32, u32) {
    let pw = img.w.div_ceil(bw) * bw;
    let ph = img.h.div_ceil(bh) * bh;
    let mut out = Vec::with_capacity((pw * ph) as usize * ch);
    for y in 0..ph {
        for x in 0..pw {
            let o = (((y.min(img.h - 1)) * img.w + x.min(img.w - 1)) * 4) as usize;
            out.extend_from_slice(&img.px[o..o + ch]);
        }
    }
    (out, pw, ph)
}

/// Fractal value noise (5 octaves, bilinear): smooth regions plus detail, closer to
/// real albedo textures than white noise (which is the worst case for every encoder).
pub fn fbm(w: u32, h: u32, seed: u64) -> Rgba8 {
    let g = 257usize;
    let mut s = seed | 1;
    let lattice: Vec<[f32; 3]> = (0..g * g)
        .map(|_| {
            let r = xorshift(&mut s);
            [(r & 0xff) as f32 / 255.0, ((r >> 8) & 0xff) as f32 / 255.0, ((r >> 16) & 0xff) as f32 / 255.0]
        })
        .collect();
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0f32; 3];
            let mut amp = 0.5;
            let mut freq = 4.0 / w.max(h) as f32;
            for _ in 0..6 {
                let fx = x as f32 * freq;
                let fy = y as f32 * freq;
                let (ix, iy) = (fx.floor() as usize % (g - 1), fy.floor() as usize % (g - 1));
                let (tx, ty) = (fx - fx.floor(), fy - fy.floor());
                for c in 0..3 {
                    let a = lattice[iy * g + ix][c];
                    let b = lattice[iy * g + ix + 1][c];
                    let cc = lattice[(iy + 1) * g + ix][c];
                    let d = lattice[(iy + 1) * g + ix + 1][c];
                    let v = (a * (1.0 - tx) + b * tx) * (1.0 - ty) + (cc * (1.0 - tx) + d * tx) * ty;
                    acc[c] += v * amp;
                }
                amp *= 0.5;
                freq *= 2.0;
            }
            for c in acc {
                px.push(((c / 0.984).clamp(0.0, 1.0) * 255.0).round() as u8);
            }
            px.push(255);
        }
    }
    Rgba8 { w, h, px }
}
